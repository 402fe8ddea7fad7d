import BusContracts
import CWMPCodec
import TwinfleetModel

extension CommandProgram {
    /// Reads the CPE's (non-fault) response to the RPC sent in `stage`: the events it implies
    /// and the next RPC or the command's outcome. The session has already checked that the
    /// response is the one expected; anything else here is a protocol error.
    static func advance(_ stage: CommandStage, command: Twinfleet_Bus_V1_Command, response: CWMPMessage,
                        environment: ProgramEnvironment, ids: inout IDMint) -> CommandAdvance {
        switch (stage, response) {
        case (.getNames(let pending, let leaves, let writable), .getParameterNamesResponse(let names)):
            var leaves = leaves, writable = writable
            for info in names.parameterList where !info.name.hasSuffix(".") {
                if writable[info.name] == nil { leaves.append(info.name) }
                writable[info.name] = info.writable
            }
            if let next = pending.first {
                return send(.getParameterNames(GetParameterNames(parameterPath: next, nextLevel: true)),
                            .getNames(pending: Array(pending.dropFirst()), leaves: leaves, writable: writable))
            }
            if leaves.isEmpty {
                return CommandAdvance(move: .finish(.succeeded(Twinfleet_Bus_V1_CommandOutputs())))
            }
            return send(.getParameterValues(GetParameterValues(parameterNames: leaves)), .getValues(writable: writable))

        case (.getValues(let writable), .getParameterValuesResponse(let values)):
            var advance = CommandAdvance(move: .finish(.inProgress))
            let parameters = BusConversion.parameters(values.parameterList, writable: writable, notes: &advance.notes)
            advance.events = reportChunks(parameters, chunkSize: environment.reportChunkSize, commandID: command.commandID, reportID: ids.next())
            var outputs = Twinfleet_Bus_V1_CommandOutputs()
            outputs.parameters = parameters
            advance.move = .finish(.succeeded(outputs))
            return advance

        case (.setValues(let parameters), .setParameterValuesResponse(let status)):
            var advance = CommandAdvance(events: [.valueChange(valueChange(parameters))], move: .finish(.succeeded(outputs(parameters))))
            if status.status == .pending { advance.notes.append("SetParameterValues applied with status 1: in effect after a reboot") }
            return advance

        case (.addObject(let objectPath, let parameterKey, let initial), .addObjectResponse(let added)):
            let instancePath = objectPath + "\(added.instanceNumber)."
            var created = Twinfleet_Bus_V1_ObjectCreated()
            created.path = instancePath
            var advance = CommandAdvance(events: [.objectCreated(created)], move: .finish(.inProgress))
            if added.status == .pending { advance.notes.append("AddObject \(instancePath) applied with status 1: in effect after a reboot") }
            guard !initial.isEmpty else {
                var result = Twinfleet_Bus_V1_CommandOutputs()
                result.instanceNumber = added.instanceNumber
                result.objectPath = instancePath
                advance.move = .finish(.succeeded(result))
                return advance
            }
            var parameters: [Twinfleet_Bus_V1_Parameter] = [], list: [ParameterValueStruct] = []
            for value in initial {
                guard let path = try? ParameterPath(validating: instancePath + value.name) else {
                    // Checked at start with a stand-in number; only a strange instance number gets here.
                    advance.move = .finish(.failed(BusConversion.commandError(.protocolError, "instance \(instancePath) makes \(value.name) an invalid path")))
                    return advance
                }
                parameters.append(Twinfleet_Bus_V1_Parameter(Parameter(path: path, value: value.value)))
                list.append(ParameterValueStruct(name: path.rawValue, value: value.value))
            }
            advance.move = .send(.setParameterValues(SetParameterValues(parameterList: list, parameterKey: parameterKey)),
                                 .addObjectInitial(instancePath: instancePath, instanceNumber: added.instanceNumber, parameters: parameters))
            return advance

        case (.addObjectInitial(let instancePath, let instanceNumber, let parameters), .setParameterValuesResponse):
            var result = outputs(parameters)
            result.instanceNumber = instanceNumber
            result.objectPath = instancePath
            return CommandAdvance(events: [.valueChange(valueChange(parameters))], move: .finish(.succeeded(result)))

        case (.deleteObject(let path), .deleteObjectResponse):
            var deleted = Twinfleet_Bus_V1_ObjectDeleted()
            deleted.path = path
            return CommandAdvance(events: [.objectDeleted(deleted)], move: .finish(.succeeded(nil)))

        case (.acknowledged, .rebootResponse), (.acknowledged, .factoryResetResponse), (.acknowledged, .scheduleInformResponse),
             (.acknowledged, .setParameterAttributesResponse):
            return CommandAdvance(move: .finish(.succeeded(nil)))

        case (.transfer(let isDownload, let key), .downloadResponse(let transfer)),
             (.transfer(let isDownload, let key), .uploadResponse(let transfer)):
            guard transfer.status == .applied else {
                // Status 1: the final result comes with a TransferComplete, usually in a later session.
                return CommandAdvance(move: .finish(.inProgress))
            }
            var complete = Twinfleet_Bus_V1_TransferComplete()
            complete.commandKey = key
            complete.isDownload = isDownload
            complete.startTimeUs = BusConversion.microseconds(transfer.startTime)
            complete.completeTimeUs = BusConversion.microseconds(transfer.completeTime)
            return CommandAdvance(events: [.transferComplete(complete)], move: .finish(.succeeded(nil)))

        case (.refreshNames(let root), .getParameterNamesResponse(let names)):
            let rootPath = try? ParameterPath(validating: root)
            var leaves: [String] = [], writable: [String: Bool] = [:]
            for info in names.parameterList where !info.name.hasSuffix(".") && writable[info.name] == nil {
                guard let path = try? ParameterPath(validating: info.name), rootPath.map(path.hasPrefix) ?? false else { continue }
                leaves.append(info.name)
                writable[info.name] = info.writable
            }
            return nextRefreshChunk(root: root, remaining: leaves, writable: writable, chunkIndex: 0, reportID: ids.next(),
                                    commandID: command.commandID, environment: environment)

        case (.refreshValues(let root, let remaining, let writable, let chunkIndex, let reportID), .getParameterValuesResponse(let values)):
            var notes: [String] = []
            var report = Twinfleet_Bus_V1_ParameterReport()
            report.parameters = BusConversion.parameters(values.parameterList, writable: writable, notes: &notes)
            report.fullSyncRoot = root
            report.chunkIndex = chunkIndex
            report.finalChunk = remaining.isEmpty
            report.reportID = reportID
            report.commandID = command.commandID
            var advance = nextRefreshChunk(root: root, remaining: remaining, writable: writable, chunkIndex: chunkIndex + 1,
                                           reportID: reportID, commandID: command.commandID, environment: environment)
            advance.events.insert(.parameterReport(report), at: 0)
            advance.notes = notes + advance.notes
            return advance

        default:
            return .refuse(.protocolError, "\(response.methodName) does not answer the RPC sent")
        }
    }

    /// The next GetParameterValues of a Refresh, or its end. A subtree with no leaves is
    /// reported as one empty final chunk, so the twin drops what the device no longer has.
    private static func nextRefreshChunk(root: String, remaining: [String], writable: [String: Bool], chunkIndex: UInt32,
                                         reportID: String, commandID: String, environment: ProgramEnvironment) -> CommandAdvance {
        if remaining.isEmpty {
            var advance = CommandAdvance(move: .finish(.succeeded(nil)))
            if chunkIndex == 0 {
                var report = Twinfleet_Bus_V1_ParameterReport()
                report.fullSyncRoot = root
                report.finalChunk = true
                report.reportID = reportID
                report.commandID = commandID
                advance.events = [.parameterReport(report)]
            }
            return advance
        }
        let chunk = Array(remaining.prefix(environment.refreshChunkSize))
        let rest = Array(remaining.dropFirst(chunk.count))
        // The stage keeps writability only for the names not yet reported (this chunk included).
        var kept: [String: Bool] = [:]
        for name in remaining { kept[name] = writable[name] }
        return send(.getParameterValues(GetParameterValues(parameterNames: chunk)),
                    .refreshValues(root: root, remaining: rest, writable: kept, chunkIndex: chunkIndex, reportID: reportID))
    }

    /// A GetParameters result as ParameterReport chunks (merged into the twin, nothing removed).
    private static func reportChunks(_ parameters: [Twinfleet_Bus_V1_Parameter], chunkSize: Int, commandID: String,
                                     reportID: String) -> [Twinfleet_Bus_V1_DeviceEvent.OneOf_Body] {
        let chunks = stride(from: 0, to: max(parameters.count, 1), by: chunkSize).map {
            Array(parameters[min($0, parameters.count)..<min($0 + chunkSize, parameters.count)])
        }
        return chunks.enumerated().map { index, chunk in
            var report = Twinfleet_Bus_V1_ParameterReport()
            report.parameters = chunk
            report.chunkIndex = UInt32(index)
            report.finalChunk = index == chunks.count - 1
            report.reportID = reportID
            report.commandID = commandID
            return .parameterReport(report)
        }
    }

    private static func valueChange(_ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_ValueChange {
        var change = Twinfleet_Bus_V1_ValueChange()
        change.parameters = parameters
        return change
    }

    private static func outputs(_ parameters: [Twinfleet_Bus_V1_Parameter]) -> Twinfleet_Bus_V1_CommandOutputs {
        var outputs = Twinfleet_Bus_V1_CommandOutputs()
        outputs.parameters = parameters
        return outputs
    }
}
