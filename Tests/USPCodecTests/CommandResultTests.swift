import BusContracts
import Foundation
import Testing
import TwinfleetModel
@testable import USPCodec

/// Agent answers mapped onto the commands that caused them.
@Suite struct CommandResultTests {
    func answer(_ command: Twinfleet_Bus_V1_Command, _ kind: Usp_Response.OneOf_RespType) throws -> Twinfleet_Bus_V1_CommandResult {
        let request = try USPCommandTranslator.request(for: command, attempt: Fixtures.context.attempt)
        let message = try USPMessageDecoder().decode(Fixtures.response(request.header.msgID, USPMessageDecoder.type(of: kind), kind))
        #expect(message.answeredRequest?.commandID == command.commandID)
        return try #require(USPCommandResults.result(for: message, command: command, context: Fixtures.context, typeLookup: Fixtures.typeLookup))
    }

    @Test func envelopeFieldsComeFromTheCommandAndContext() throws {
        var get = Usp_GetResp()
        get.reqPathResults = []
        let result = try answer(Fixtures.command(Fixtures.getParameters), .getResp(get))
        #expect(result.commandID == Fixtures.command(nil).commandID)
        #expect(result.deviceID == Fixtures.agentID)
        #expect(result.tenantID == "tenant-1")
        #expect(result.instanceID == "usp-ingress-0")
        #expect(result.attempt == 2)
        #expect(result.occurredAtUs == Fixtures.context.occurredAtUs)
        #expect(result.status == .succeeded)
    }

    @Test func getParametersWithTypedValuesAndAFailedPath() throws {
        let result = try answer(Fixtures.command(Fixtures.getParameters), .getResp(Fixtures.getResp))
        #expect(result.status == .failed)
        #expect(result.error.code == 7026)
        #expect(result.error.parameterFaults.map(\.path) == ["Device.Nope."])
        #expect(!result.error.retriable)
        let values = try Dictionary(uniqueKeysWithValues: result.outputs.parameters.map { try Parameter($0) }.map { ($0.path.rawValue, $0.value) })
        #expect(values["Device.WiFi.SSID.1.Enable"] == .boolean(true))
        #expect(values["Device.WiFi.SSID.1.Stats.BytesSent"] == .unsignedLong(.max))
        #expect(values["Device.WiFi.SSID.1.Stats.ErrorsSent"] == .string(""))  // empty is no unsignedInt: kept as text
        #expect(values["Device.DeviceInfo.SoftwareVersion"] == .string("2.0.3"))

        var clean = Fixtures.getResp
        clean.reqPathResults.removeLast()
        let ok = try answer(Fixtures.command(Fixtures.getParameters), .getResp(clean))
        #expect(ok.status == .succeeded)
        #expect(ok.outputs.parameters.count == 6)
        #expect(!ok.hasError)
    }

    @Test func refreshLeavesValuesToTheReport() throws {
        var clean = Fixtures.getResp
        clean.reqPathResults.removeLast()
        let result = try answer(Fixtures.command(Fixtures.refresh), .getResp(clean))
        #expect(result.status == .succeeded)
        #expect(result.outputs.parameters.isEmpty)
    }

    @Test func setParameters() throws {
        var instance = Usp_SetResp.UpdatedInstanceResult()
        instance.affectedPath = "Device.WiFi.Radio.1."
        instance.updatedParams = ["Channel": "6"]
        var object = Usp_SetResp.UpdatedObjectResult()
        object.requestedPath = "Device.WiFi.Radio.1."
        object.operStatus.operSuccess.updatedInstResults = [instance]
        var resp = Usp_SetResp()
        resp.updatedObjResults = [object]
        let result = try answer(Fixtures.command(Fixtures.setParameters), .setResp(resp))
        #expect(result.status == .succeeded)
        #expect(result.outputs.parameters == [Fixtures.parameter("Device.WiFi.Radio.1.Channel", .unsignedInt(6))])

        var failing = Usp_SetResp.UpdatedObjectResult()
        failing.requestedPath = "Device.WiFi.SSID.1."
        failing.operStatus.operFailure.errCode = 7005
        resp.updatedObjResults.append(failing)
        let failed = try answer(Fixtures.command(Fixtures.setParameters), .setResp(resp))
        #expect(failed.status == .failed)
        #expect(failed.error.code == 7005)
        #expect(failed.error.retriable)
        #expect(failed.error.parameterFaults.map(\.path) == ["Device.WiFi.SSID.1."])
    }

    @Test func addObject() throws {
        var created = Usp_AddResp.CreatedObjectResult()
        created.requestedPath = "Device.WiFi.SSID."
        created.operStatus.operSuccess.instantiatedPath = "Device.WiFi.SSID.4."
        created.operStatus.operSuccess.uniqueKeys = ["Alias": "cpe-4"]
        var resp = Usp_AddResp()
        resp.createdObjResults = [created]
        let result = try answer(Fixtures.command(Fixtures.addObject), .addResp(resp))
        #expect(result.status == .succeeded)
        #expect(result.outputs.objectPath == "Device.WiFi.SSID.4.")
        #expect(result.outputs.instanceNumber == 4)
        #expect(result.outputs.outputArgs == ["Alias": "cpe-4"])

        var error = Usp_AddResp.ParameterError()
        error.param = "SSID"
        error.errCode = 7012
        resp.createdObjResults[0].operStatus.operSuccess.paramErrs = [error]
        let partial = try answer(Fixtures.command(Fixtures.addObject), .addResp(resp))
        #expect(partial.status == .failed)
        #expect(partial.outputs.instanceNumber == 4)
        #expect(partial.error.parameterFaults.map(\.path) == ["Device.WiFi.SSID.4.SSID"])

        resp.createdObjResults[0].operStatus.operFailure.errCode = 7019
        let refused = try answer(Fixtures.command(Fixtures.addObject), .addResp(resp))
        #expect(refused.status == .failed)
        #expect(refused.error.code == 7019)
        #expect(try answer(Fixtures.command(Fixtures.addObject), .addResp(Usp_AddResp())).error.code == TwinfleetErrorCode.malformedResponse.rawValue)
    }

    @Test func deleteObject() throws {
        var deleted = Usp_DeleteResp.DeletedObjectResult()
        deleted.requestedPath = "Device.WiFi.SSID.3."
        deleted.operStatus.operSuccess = Usp_DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess()
        var resp = Usp_DeleteResp()
        resp.deletedObjResults = [deleted]
        let result = try answer(Fixtures.command(Fixtures.deleteObject), .deleteResp(resp))
        #expect(result.status == .succeeded)
        #expect(result.outputs.objectPath == "Device.WiFi.SSID.3.")

        var unaffected = Usp_DeleteResp.UnaffectedPathError()
        unaffected.unaffectedPath = "Device.WiFi.SSID.3."
        unaffected.errCode = 7024
        resp.deletedObjResults[0].operStatus.operSuccess.unaffectedPathErrs = [unaffected]
        let failed = try answer(Fixtures.command(Fixtures.deleteObject), .deleteResp(resp))
        #expect(failed.status == .failed)
        #expect(failed.error.code == 7024)
    }

    @Test func operateSyncAsyncAndFailure() throws {
        var sync = Usp_OperateResp.OperationResult()
        sync.executedCommand = "Device.IP.Diagnostics.IPPing()"
        sync.reqOutputArgs.outputArgs = ["SuccessCount": "3", "AverageResponseTime": "12"]
        var resp = Usp_OperateResp()
        resp.operationResults = [sync]
        let done = try answer(Fixtures.command(Fixtures.operate), .operateResp(resp))
        #expect(done.status == .succeeded)
        #expect(done.outputs.outputArgs == ["SuccessCount": "3", "AverageResponseTime": "12"])

        var async = Usp_OperateResp.OperationResult()
        async.executedCommand = "Device.DeviceInfo.FirmwareImage.2.Download()"
        async.reqObjPath = "Device.LocalAgent.Request.3."
        resp.operationResults = [async]
        let started = try answer(Fixtures.command(Fixtures.download), .operateResp(resp))
        #expect(started.status == .inProgress)
        #expect(started.outputs.objectPath == "Device.LocalAgent.Request.3.")

        var failure = Usp_OperateResp.OperationResult()
        failure.executedCommand = "Device.Reboot()"
        failure.cmdFailure.errCode = 7022
        resp.operationResults = [failure]
        let failed = try answer(Fixtures.command(Fixtures.reboot), .operateResp(resp))
        #expect(failed.status == .failed)
        #expect(failed.error.code == 7022)
        #expect(failed.error.message.contains("Command failure"))
    }

    @Test func errorMessagesFailTheCommand() throws {
        let command = Fixtures.command(Fixtures.setParameters)
        let error = USPErrorMessage(code: .invalidArguments, message: "Set failed", parameterErrors: [
            USPParameterError(path: "Device.WiFi.Radio.1.Channel", code: .invalidValue, message: "Out of range"),
        ])
        let result = USPCommandResults.result(for: error, command: command, context: Fixtures.context)
        #expect(result.status == .failed)
        #expect(result.error.code == 7004)
        #expect(result.error.message == "Set failed")
        #expect(result.error.parameterFaults.map(\.code) == [7012])
        #expect(!result.error.retriable)

        let busy = USPCommandResults.result(for: USPErrorMessage(code: USPErrorCode(0), message: ""), command: command, context: Fixtures.context)
        #expect(busy.error.code == 7000)
        #expect(busy.error.message == "Message failed")
        let huge = USPCommandResults.result(for: USPErrorMessage(code: USPErrorCode(.max), message: "?"), command: command, context: Fixtures.context)
        #expect(huge.error.code == .max)
    }

    @Test func answersOfTheWrongKindFailWith1003() throws {
        var resp = Usp_GetResp()
        resp.reqPathResults = []
        let result = try answer(Fixtures.command(Fixtures.reboot), .getResp(resp))
        #expect(result.status == .failed)
        #expect(result.error.code == TwinfleetErrorCode.protocolError.rawValue)
        #expect(result.error.message.contains("OperateResp expected"))
        let notify = try USPMessageDecoder().decode(Fixtures.notify(.onBoardReq(Usp_Notify.OnBoardRequest())))
        #expect(USPCommandResults.result(for: notify, command: Fixtures.command(Fixtures.reboot), context: Fixtures.context) == nil)
    }

    @Test func everyKindHasAnExpectedAnswer() throws {
        let answers: [String: Usp_Response.OneOf_RespType] = [
            "GetResp": .getResp(Usp_GetResp()), "SetResp": .setResp(Usp_SetResp()), "OperateResp": .operateResp(Usp_OperateResp()),
            "AddResp": .addResp({ var r = Usp_AddResp(); var c = Usp_AddResp.CreatedObjectResult(); c.operStatus.operSuccess.instantiatedPath = "Device.A.1."; r.createdObjResults = [c]; return r }()),
            "DeleteResp": .deleteResp({ var r = Usp_DeleteResp(); var d = Usp_DeleteResp.DeletedObjectResult(); d.operStatus.operSuccess = .init(); r.deletedObjResults = [d]; return r }()),
        ]
        for kind in Fixtures.translatableKinds {
            let command = Fixtures.command(kind)
            let expected = USPCommandResults.expectedResponse(for: command)
            let result = try answer(command, try #require(answers[expected], "\(expected)"))
            #expect(result.status == .succeeded, "\(expected): \(result.error.message)")
        }
    }
}
