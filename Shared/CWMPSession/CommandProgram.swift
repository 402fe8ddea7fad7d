#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec
import TwinfleetModel

/// How a command ended as far as this session is concerned.
enum CommandOutcome: Hashable, Sendable {
    /// It worked; outputs when it returns something.
    case succeeded(Twinfleet_Bus_V1_CommandOutputs?)
    /// The CPE accepted it and reports the end later (Download/Upload status 1).
    case inProgress
    /// The CPE or the platform refused it.
    case failed(Twinfleet_Bus_V1_CommandError)
}

/// Where a command is between RPCs: what was sent and what its response leads to. Stages carry
/// everything the next RPC needs, so the session holds no other per-command state.
enum CommandStage: Hashable, Sendable {
    /// GetParameters with `next_level`: GetParameterNames of each object path in turn, then one
    /// GetParameterValues of the leaves found plus the plain parameter paths.
    case getNames(pending: [String], leaves: [String], writable: [String: Bool])
    /// GetParameterValues of a GetParameters.
    case getValues(writable: [String: Bool])
    /// SetParameterValues of a SetParameters.
    case setValues([Twinfleet_Bus_V1_Parameter])
    /// AddObject; `initial` (names relative to the new instance) are set afterwards.
    case addObject(objectPath: String, parameterKey: String, initial: [RelativeValue])
    /// SetParameterValues of an AddObject's initial parameters on the instance just created.
    case addObjectInitial(instancePath: String, instanceNumber: UInt32, parameters: [Twinfleet_Bus_V1_Parameter])
    /// DeleteObject.
    case deleteObject(path: String)
    /// Reboot, FactoryReset, ScheduleInform, SetParameterAttributes: the response is all there is.
    case acknowledged
    /// Download or Upload.
    case transfer(isDownload: Bool, commandKey: String)
    /// Refresh: GetParameterNames of the subtree.
    case refreshNames(root: String)
    /// Refresh: GetParameterValues of one chunk of leaves; `remaining` are still to be read.
    case refreshValues(root: String, remaining: [String], writable: [String: Bool], chunkIndex: UInt32, reportID: String)

    /// Words put in front of a fault's message, where the fault alone would mislead.
    var faultContext: String? {
        switch self {
        case .addObjectInitial(let path, _, _): "object \(path) was created but its initial parameters were refused"
        case .refreshValues(let root, _, _, let chunk, _): "refresh of \(root) failed at chunk \(chunk); the twin keeps its previous subtree"
        default: nil
        }
    }
}

/// A value for a parameter named relative to an object instance (AddObject's initial values).
struct RelativeValue: Hashable, Sendable {
    /// The name below the instance, e.g. `SSID` or `Stats.Enable`.
    var name: String
    /// The typed value.
    var value: ParameterValue
}

/// The next move of a command, and the device events its last response produced.
struct CommandAdvance: Sendable {
    /// Events to publish (reports, value changes, object created/deleted, transfers).
    var events: [Twinfleet_Bus_V1_DeviceEvent.OneOf_Body] = []
    /// Send this RPC and wait in this stage, or finish.
    var move: Move
    /// Oddities for the log.
    var notes: [String] = []

    /// Send an RPC or finish.
    enum Move: Sendable {
        /// Send the message, then expect its response in the stage.
        case send(CWMPMessage, CommandStage)
        /// The command is done (in this session).
        case finish(CommandOutcome)
    }

    /// An advance that finishes with a Twinfleet error and sends nothing.
    static func refuse(_ code: TwinfleetErrorCode, _ detail: String) -> CommandAdvance {
        CommandAdvance(move: .finish(.failed(BusConversion.commandError(code, detail))))
    }
}

/// What a program needs to know about the session: the device's root and the chunk sizes.
struct ProgramEnvironment: Sendable {
    /// `Device.` or `InternetGatewayDevice.`, from the Inform.
    var deviceRoot: String
    /// Leaves per GetParameterValues in a Refresh.
    var refreshChunkSize: Int
    /// Parameters per ParameterReport of a GetParameters.
    var reportChunkSize: Int
}

/// Mints the IDs of events and reports: `<session ID>-<n>`. Unique because session IDs are,
/// and deterministic, so a session replays identically in tests.
struct IDMint: Hashable, Sendable {
    /// The session ID.
    let prefix: String
    /// IDs minted so far.
    private(set) var count = 0

    init(prefix: String) { self.prefix = prefix }

    mutating func next() -> String {
        count += 1
        return "\(prefix)-\(count)"
    }
}
