#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import BusContracts
import CWMPCodec
import TwinfleetModel

/// The ACS side of one TR-069 (CWMP, Amendment 6) session, as a value-type state machine.
///
/// The ingress feeds it HTTP POSTs (``receive(request:now:)``), dispatcher deliveries
/// (``receive(delivery:now:)``) and clock ticks (``tick(now:)``), and carries out the
/// ``CWMPSessionStep`` each returns: publish the device events and command results, then answer
/// (or park) the HTTP exchange. The session does no I/O, reads no clock and holds nothing about
/// the device beyond its own lifetime.
///
/// States and transitions (``State``):
/// ```
/// awaitingInform ──Inform──▶ cpeRequests ──empty POST──▶ (ACS's turn)
/// cpeRequests ──TransferComplete/GetRPCMethods/…──▶ cpeRequests (answered)
/// (ACS's turn): a command queued    ──▶ awaitingResponse (RPC sent)
///               nothing, end-of-plan ──▶ ended (204)
///               nothing yet          ──▶ awaitingPlan (POST parked)
/// awaitingResponse ──response/fault──▶ next RPC of the command, or (ACS's turn)
/// awaitingPlan ──delivery──▶ (ACS's turn);  ──deadline──▶ ended (204)
/// any ──idle timeout / second Inform / RPC limit──▶ ended
/// ```
///
/// Decisions (where TR-069 or the brief left a choice):
/// - **Device ID**: ``TwinfleetModel/DeviceID/cwmp(oui:productClass:serialNumber:)``:
///   `OUI-ProductClass-SerialNumber` (`OUI-SerialNumber` without a product class), every byte
///   other than ASCII letters, digits and `_` percent-encoded as GenieACS does. An Inform whose
///   OUI or serial number is empty gets fault 8003 and the session ends.
/// - **Bus records at Inform**, in this order: the Inform event (identity, event codes with
///   command keys, retry count, device time, parameter list); with `4 VALUE CHANGE` also a
///   ValueChange of the Inform's parameters (CWMP cannot tell forced-inform parameters from
///   changed ones, so the whole list goes; the twin ignores unchanged values); then
///   `session-opened` presence (instance, session, remote address, TLS, ConnectionRequestURL).
///   The dispatcher answers `session-opened`, so it has seen the Inform before planning.
/// - **Parameters on the bus** always have a valid path and a typed value: names that are not
///   paths are dropped (with a note), values the codec kept raw travel as strings.
/// - **POST before Inform**: an envelope other than Inform gets fault 8003, an undecodable body
///   the codec's fault, an empty POST HTTP 400; the session ends without presence events.
/// - **Second Inform** in a session: fault 8003 and the session ends (the CPE starts afresh);
///   planned commands are reported NOT_DELIVERED.
/// - **SOAP faults** to CPE requests are sent with HTTP 200 by default
///   (``CWMPSessionConfiguration/faultHTTPStatus``): the fault is an ordinary message of the
///   session, and many CPE stacks abandon a session on any 5xx, which would defeat "answer 8000
///   and carry on". Unknown or unsupported CPE methods (Kicked, ACS-side RPCs sent by a CPE)
///   get 8000; undecodable requests the codec's code (8002/8003/8004). The session goes on.
/// - **HoldRequests**: absent on our responses to CPE requests (the CPE may keep sending
///   them), `true` on every RPC we send, so the CPE answers instead of interleaving requests.
///   A CPE that sends a request anyway while an RPC is in flight is answered, and the RPC stays
///   in flight. One envelope per HTTP message: InformResponse says MaxEnvelopes 1, whatever
///   the CPE announced.
/// - **Planning**: deliveries may arrive any time after `session-opened`; they are buffered in
///   the session value (deduplicated by command ID, at most
///   ``CWMPSessionConfiguration/maxQueuedCommands``). When it is the ACS's turn (the empty
///   POST, or a CPE response) the next command runs; with none queued and no end-of-plan yet
///   the POST is parked (``CWMPSessionReply/hold(until:)``) for at most
///   ``CWMPSessionConfiguration/planWait`` (measured from when parking began); then 204.
///   Deliveries arriving after end-of-plan, while the session lives, are still run.
/// - **Command results**: DELIVERED when a command's first RPC is sent; SUCCEEDED with outputs;
///   IN_PROGRESS for Download/Upload status 1 (the TransferComplete of a later session ends
///   it); FAILED with the CPE's fault code, string and SetParameterValuesFaults, retriable for
///   9002 and 9004 only; EXPIRED (no RPC sent) when `expires_at_us` has passed at dequeue time;
///   FAILED 1001 for Operate, 1004 for malformed commands, 1003 when the CPE's answer does not
///   match the RPC (another method, another cwmp:ID, an empty POST, an undecodable body) — the
///   session then goes on with the next command. NOT_DELIVERED (retriable, 1002) for
///   commands planned but not finished when the session ends, and (1005) for commands that are
///   not `independent` once an earlier command of the session failed or expired.
///   SetParameterValues/AddObject/DeleteObject status 1 (applied after reboot) still succeed.
/// - **CommandKey** of Reboot, Download, Upload and ScheduleInform: the command's own key, else
///   its command ID. A TransferComplete is published as a transfer-complete event and, when
///   its CommandKey is not empty, as a command result for the command ID equal to that key
///   (attempt 0, unknown); a key the dispatcher does not know as a command ID is ignored there,
///   and a command that carried its own key is matched from the event instead.
/// - **Command → RPC**: GetParameters → GetParameterValues of the paths as given (an object
///   path reads its subtree); with `next_level`, GetParameterNames(NextLevel=true) of each
///   object path first, then one GetParameterValues of the leaves found plus the plain paths.
///   Results also go out as ParameterReport chunks (merged, not a full sync). SetParameters →
///   SetParameterValues (xsi:type from the typed value, ParameterKey passed on), then a
///   ValueChange of the values set. AddObject → AddObject, then (if any) SetParameterValues of
///   the initial parameters under the new instance, with ObjectCreated and ValueChange events.
///   DeleteObject → DeleteObject, ObjectDeleted event. Refresh → GetParameterNames(path,
///   NextLevel=false), then GetParameterValues of the leaves in chunks of
///   ``CWMPSessionConfiguration/refreshChunkSize``, each answer one ParameterReport chunk with
///   `full_sync_root`, one `report_id`, `final_chunk` on the last (an empty subtree is one empty
///   final chunk). A Refresh with an empty path reads the device's root (`Device.` or
///   `InternetGatewayDevice.`, from the Inform's parameter names): what the dispatcher should
///   plan for a new device's first session, so the whole data model reaches the twin. Download's `sha256` has no CWMP field and is not sent;
///   a `file_size` beyond 32 bits is sent as 0 (unknown). SetParameterAttributes →
///   SetParameterAttributes (notification and access list per entry). commands.proto has no
///   command for GetParameterAttributes, so it is never sent.
/// - **Limits**: at most ``CWMPSessionConfiguration/maxRPCs`` RPCs per session, then the
///   remaining commands are NOT_DELIVERED and the session ends with 204; body size and XML
///   limits are the codec's (``CWMPSessionConfiguration/decodingLimits``).
/// - **Timeouts**: no POST for ``CWMPSessionConfiguration/idleTimeout`` (while none is parked)
///   ends the session: NOT_DELIVERED for the in-flight and queued commands, `session-closed`
///   with reason `timeout`. ``nextDeadline`` says when to tick.
/// - **IDs**: event and report IDs are `<session ID>-<n>`, unique because session IDs are,
///   and repeatable; cwmp:IDs of our RPCs are `acs-<n>`. A response without a cwmp:ID is
///   accepted when its method matches.
/// - **CWMP versions**: every envelope uses the namespace of the CPE's Inform; CWMP 1.4's
///   UseCWMPVersion negotiation and the CPE's SessionTimeout header are not acted on.
/// - **Connection-request credentials** (``provisionConnectionRequestCredentials(username:password:)``,
///   which the ingress calls after a `0 BOOTSTRAP` Inform): a SetParameterValues of
///   `ManagementServer.ConnectionRequestUsername` and `…Password` under the device's root runs
///   before the dispatcher's commands. It is the ingress's own: no result, no event (the
///   password is never published); its outcome is a note and
///   ``CWMPSessionStep/credentialsProvisioned``. A fault does not hold back the commands.
/// - **RequestDownload** is answered; device_events.proto has no body for it, so it is only
///   noted (the Inform's `9 REQUEST DOWNLOAD` event code is published with the Inform).
public struct CWMPSession: Sendable {
    /// Where the session is.
    public enum State: Hashable, Sendable {
        /// Created for a POST; nothing accepted yet.
        case awaitingInform
        /// InformResponse sent; the CPE sends its requests, then an empty POST.
        case cpeRequests
        /// A POST is parked until a delivery arrives or `until` passes.
        case awaitingPlan(until: Date)
        /// An RPC is in flight; the CPE's next POST should carry its response.
        case awaitingResponse(CWMPInFlightRPC)
        /// Over; nothing more is sent.
        case ended(CWMPSessionEndReason)
    }

    /// Who holds the session and how the CPE connected.
    public let context: CWMPSessionContext
    /// Timeouts and limits.
    public let configuration: CWMPSessionConfiguration
    /// Where the session is.
    public internal(set) var state: State = .awaitingInform
    /// The device, once its Inform was accepted.
    public internal(set) var device: CWMPSessionDevice?
    /// When the last POST arrived (or the session was created).
    public internal(set) var lastActivity: Date
    /// RPCs sent so far.
    public internal(set) var rpcCount = 0
    /// Whether the dispatcher said end-of-plan.
    public internal(set) var endOfPlanReceived = false

    var queue: [PlannedCommand] = []
    var seenCommandIDs: Set<String> = []
    var deliveredCommandCount = 0
    var predecessorFailed = false
    var ids: IDMint
    let decoder: CWMPDecoder
    let encoder = CWMPEncoder()

    /// Creates a session for the first POST of a CPE.
    public init(context: CWMPSessionContext, configuration: CWMPSessionConfiguration = .default, now: Date) {
        self.context = context
        self.configuration = configuration
        self.lastActivity = now
        self.ids = IDMint(prefix: context.sessionID)
        self.decoder = CWMPDecoder(limits: configuration.decodingLimits)
    }

    /// The session ID (the cookie value).
    public var sessionID: String { context.sessionID }

    /// True once the session is over.
    public var isEnded: Bool {
        if case .ended = state { return true }
        return false
    }

    /// IDs of the commands buffered and not yet started, in run order.
    public var queuedCommandIDs: [String] { queue.map(\.command.commandID) }

    /// When ``tick(now:)`` next has something to do: the plan deadline of a parked POST, else
    /// the idle timeout; nil once ended.
    public var nextDeadline: Date? {
        switch state {
        case .ended: nil
        case .awaitingPlan(let until): until
        default: lastActivity.addingTimeInterval(configuration.idleTimeout.timeInterval)
        }
    }

    /// Handles one POST from the CPE. The reply is never nil: a response, or hold.
    public mutating func receive(request: CWMPHTTPRequest, now: Date) -> CWMPSessionStep {
        lastActivity = now
        var step = CWMPSessionStep()
        step.deviceID = device?.deviceID.rawValue
        if case .ended(let reason) = state {
            step.notes.append("POST after the session ended (\(reason.rawValue)); answered 204")
            step.reply = .respond(.noContent)
            step.sessionEnded = true
            return step
        }
        let incoming: CWMPIncoming
        do {
            incoming = try decoder.decodeHTTPBody(request.body)
        } catch {
            undecodable(error, now: now, step: &step)
            return step
        }
        switch incoming {
        case .empty: emptyPOST(now: now, step: &step)
        case .envelope(let envelope): received(envelope, now: now, step: &step)
        }
        step.deviceID = device?.deviceID.rawValue
        return step
    }

    /// Handles one record of this instance's inbox. Deliveries for another session or device
    /// are ignored (with a note); the dispatcher plans again for the next session.
    public mutating func receive(delivery: Twinfleet_Bus_V1_Delivery, now: Date) -> CWMPSessionStep {
        var step = CWMPSessionStep()
        step.deviceID = device?.deviceID.rawValue
        accept(delivery, now: now, step: &step)
        return step
    }

    /// Applies the clock: answers a parked POST with 204 once its plan deadline passed, and
    /// ends an idle session.
    public mutating func tick(now: Date) -> CWMPSessionStep {
        var step = CWMPSessionStep()
        step.deviceID = device?.deviceID.rawValue
        switch state {
        case .ended:
            break
        case .awaitingPlan(let until):
            if now >= until {
                step.notes.append("no delivery within \(configuration.planWait); ending the session")
                step.reply = .respond(.noContent)
                end(.planTimeout, now: now, step: &step)
            }
        default:
            if now.timeIntervalSince(lastActivity) >= configuration.idleTimeout.timeInterval {
                end(.idleTimeout, now: now, step: &step)
            }
        }
        return step
    }

    /// Ends the session from outside (shutdown, a newer session of the same device): commands
    /// not finished are NOT_DELIVERED, `session-closed` is published, and a parked POST is
    /// answered 204.
    public mutating func end(reason: CWMPSessionEndReason, now: Date) -> CWMPSessionStep {
        var step = CWMPSessionStep()
        step.deviceID = device?.deviceID.rawValue
        guard !isEnded else { return step }
        if case .awaitingPlan = state { step.reply = .respond(.noContent) }
        end(reason, now: now, step: &step)
        return step
    }
}

/// Why a session ended; the text goes into `session-closed`'s reason.
public enum CWMPSessionEndReason: String, Sendable, Hashable, CaseIterable {
    /// 204 after the plan ran out.
    case completed = "completed"
    /// A POST was parked and no delivery came in time.
    case planTimeout = "plan timeout"
    /// No POST from the CPE within the idle timeout.
    case idleTimeout = "timeout"
    /// The per-session RPC limit was reached.
    case rpcLimit = "rpc limit"
    /// The CPE broke the protocol (a second Inform).
    case protocolError = "protocol error"
    /// The first POST was not an acceptable Inform.
    case notStarted = "not started"
    /// A newer session of the same device replaced this one.
    case superseded = "superseded"
    /// The ingress is shutting down.
    case shutdown = "shutdown"
}

/// What the session learnt from the Inform.
public struct CWMPSessionDevice: Sendable, Hashable {
    /// The platform's device ID (see the decisions in ``CWMPSession``).
    public var deviceID: DeviceID
    /// The DeviceIdStruct as sent.
    public var identity: DeviceIdStruct
    /// `Device.` or `InternetGatewayDevice.`.
    public var root: String
    /// ConnectionRequestURL from the Inform's parameters; empty when absent.
    public var connectionRequestURL: String
    /// The event codes of the Inform.
    public var events: [EventStruct]
    /// The CWMP namespace the CPE used; every envelope we send uses it.
    public var namespace: CWMPNamespace
}

/// The RPC in flight: what was sent for which command, and how its answer is read.
public struct CWMPInFlightRPC: Sendable, Hashable {
    /// The command the RPC belongs to.
    public var commandID: String { planned.command.commandID }
    /// The method sent, e.g. `GetParameterValues`.
    public let method: String
    /// The cwmp:ID sent; the response must echo it.
    public let requestID: String
    /// When it was sent.
    public let sentAt: Date
    /// The response method expected, e.g. `GetParameterValuesResponse`.
    public var expectedResponse: String { method + "Response" }

    let planned: PlannedCommand
    let stage: CommandStage
}

/// A command delivered for this session, with its delivery attempt.
struct PlannedCommand: Sendable, Hashable {
    var command: Twinfleet_Bus_V1_Command
    var attempt: UInt32
    /// The ingress's own command (the connection-request credentials): its outcome is a note and
    /// ``CWMPSessionStep/credentialsProvisioned``, never a result or an event, so what it sets
    /// (a password) reaches no topic.
    var isInternal = false
}
