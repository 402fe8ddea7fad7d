import BusContracts
import Foundation
import SwiftProtobuf
import Testing
@testable import USPCodec

/// Agent responses as obuspa sends them, read into typed values.
@Suite struct ResponseDecodingTests {
    let decoder = USPMessageDecoder()

    func decode(_ message: Usp_Msg) throws -> USPAgentMessage {
        // Through bytes, as they arrive.
        try decoder.decode(try message.serializedBytes() as [UInt8])
    }

    @Test func getRespFlattensToFullPaths() throws {
        let message = try decode(Fixtures.response("tf/cmd/1/0/c1", .getResp, .getResp(Fixtures.getResp)))
        guard case .response(.get(let get)) = message.body else {
            Issue.record("not a GetResp: \(message.body)")
            return
        }
        #expect(get.results.map(\.requestedPath) == ["Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.1.", "Device.Nope."])
        #expect(get.parameters.map(\.path) == [
            "Device.DeviceInfo.SoftwareVersion",
            "Device.WiFi.SSID.1.Enable", "Device.WiFi.SSID.1.SSID", "Device.WiFi.SSID.1.Status",
            "Device.WiFi.SSID.1.Stats.BytesSent", "Device.WiFi.SSID.1.Stats.ErrorsSent",
        ])
        #expect(get.parameters.first?.text == "2.0.3")
        #expect(get.failures == [USPParameterError(path: "Device.Nope.", code: .invalidPath, message: "Invalid path: Device.Nope.")])
    }

    @Test func aliasPathsCannotBecomeBusParameters() throws {
        var resolved = Usp_GetResp.ResolvedPathResult()
        resolved.resolvedPath = "Device.WiFi.SSID.[cpe-1]."
        resolved.resultParams = ["SSID": "home"]
        var plain = Usp_GetResp.ResolvedPathResult()
        plain.resolvedPath = "Device.WiFi.SSID.2."
        plain.resultParams = ["SSID": "guest"]
        var result = Usp_GetResp.RequestedPathResult()
        result.requestedPath = "Device.WiFi.SSID.*.SSID"
        result.resolvedPathResults = [resolved, plain]
        var resp = Usp_GetResp()
        resp.reqPathResults = [result]
        guard case .response(.get(let get)) = try decode(Fixtures.response("g", .getResp, .getResp(resp))).body else {
            Issue.record("not a GetResp")
            return
        }
        let (parameters, unrepresentable) = get.typedParameters()
        #expect(parameters.map(\.path) == ["Device.WiFi.SSID.2.SSID"])
        #expect(unrepresentable == [USPReportedParameter(path: "Device.WiFi.SSID.[cpe-1].SSID", text: "home")])
    }

    @Test func setResp() throws {
        var instance = Usp_SetResp.UpdatedInstanceResult()
        instance.affectedPath = "Device.WiFi.SSID.1."
        instance.updatedParams = ["SSID": "home"]
        var optional = Usp_SetResp.ParameterError()
        optional.param = "Enable"
        optional.errCode = 7012
        optional.errMsg = "Invalid value"
        instance.paramErrs = [optional]
        var result = Usp_SetResp.UpdatedObjectResult()
        result.requestedPath = "Device.WiFi.SSID.1."
        result.operStatus.operSuccess.updatedInstResults = [instance]

        var failed = Usp_SetResp.UpdatedObjectResult()
        failed.requestedPath = "Device.WiFi.Radio.1."
        failed.operStatus.operFailure.errCode = 7021
        failed.operStatus.operFailure.errMsg = "Required parameter failed"
        var failure = Usp_SetResp.UpdatedInstanceFailure()
        failure.affectedPath = "Device.WiFi.Radio.1."
        var channel = Usp_SetResp.ParameterError()
        channel.param = "Channel"
        channel.errCode = 7012
        failure.paramErrs = [channel]
        failed.operStatus.operFailure.updatedInstFailures = [failure]

        var resp = Usp_SetResp()
        resp.updatedObjResults = [result, failed]
        guard case .response(.set(let set)) = try decode(Fixtures.response("s", .setResp, .setResp(resp))).body else {
            Issue.record("not a SetResp")
            return
        }
        #expect(set.results[0].outcome == .success([USPSetResponse.UpdatedInstance(
            affectedPath: "Device.WiFi.SSID.1.", updatedParameters: [USPReportedParameter(path: "Device.WiFi.SSID.1.SSID", text: "home")],
            parameterErrors: [USPParameterError(path: "Device.WiFi.SSID.1.Enable", code: .invalidValue, message: "Invalid value")])]))
        #expect(set.results[1].outcome == .failure(USPFailure(code: .requiredParameterFailed, message: "Required parameter failed"),
                                                   parameterErrors: [USPParameterError(path: "Device.WiFi.Radio.1.Channel", code: .invalidValue, message: "")]))
    }

    @Test func addAndDeleteResp() throws {
        var created = Usp_AddResp.CreatedObjectResult()
        created.requestedPath = "Device.WiFi.SSID."
        created.operStatus.operSuccess.instantiatedPath = "Device.WiFi.SSID.4."
        created.operStatus.operSuccess.uniqueKeys = ["Alias": "cpe-4", "Name": "ssid4"]
        var add = Usp_AddResp()
        add.createdObjResults = [created]
        guard case .response(.add(let typedAdd)) = try decode(Fixtures.response("a", .addResp, .addResp(add))).body else {
            Issue.record("not an AddResp")
            return
        }
        #expect(typedAdd.results == [USPAddResponse.CreatedObject(requestedPath: "Device.WiFi.SSID.", outcome: .success(
            instantiatedPath: "Device.WiFi.SSID.4.", uniqueKeys: ["Alias": "cpe-4", "Name": "ssid4"], parameterErrors: []))])

        var deleted = Usp_DeleteResp.DeletedObjectResult()
        deleted.requestedPath = "Device.WiFi.SSID.3."
        deleted.operStatus.operSuccess.affectedPaths = ["Device.WiFi.SSID.3."]
        var delete = Usp_DeleteResp()
        delete.deletedObjResults = [deleted]
        guard case .response(.delete(let typedDelete)) = try decode(Fixtures.response("d", .deleteResp, .deleteResp(delete))).body else {
            Issue.record("not a DeleteResp")
            return
        }
        #expect(typedDelete.results[0].outcome == .success(affectedPaths: ["Device.WiFi.SSID.3."], unaffected: []))
    }

    @Test func operateRespInAllThreeShapes() throws {
        var sync = Usp_OperateResp.OperationResult()
        sync.executedCommand = "Device.Reboot()"
        sync.reqOutputArgs = Usp_OperateResp.OperationResult.OutputArgs()
        var async = Usp_OperateResp.OperationResult()
        async.executedCommand = "Device.DeviceInfo.FirmwareImage.2.Download()"
        async.reqObjPath = "Device.LocalAgent.Request.7."
        var failed = Usp_OperateResp.OperationResult()
        failed.executedCommand = "Device.IP.Diagnostics.IPPing()"
        failed.cmdFailure.errCode = 7027
        failed.cmdFailure.errMsg = "Host missing"
        var resp = Usp_OperateResp()
        resp.operationResults = [sync, async, failed]
        guard case .response(.operate(let operate)) = try decode(Fixtures.response("o", .operateResp, .operateResp(resp))).body else {
            Issue.record("not an OperateResp")
            return
        }
        #expect(operate.results.map(\.outcome) == [
            .completed(outputArguments: [:]), .started(requestPath: "Device.LocalAgent.Request.7."),
            .failure(USPFailure(code: .invalidCommandArguments, message: "Host missing")),
        ])
    }

    @Test func getSupportedDMResp() throws {
        var param = Usp_GetSupportedDMResp.SupportedParamResult()
        param.paramName = "SSID"
        param.access = .paramReadWrite
        param.valueType = .paramString
        param.valueChange = .valueChangeAllowed
        var counter = Usp_GetSupportedDMResp.SupportedParamResult()
        counter.paramName = "BytesSent"
        counter.valueType = .paramUnsignedLong
        counter.valueChange = .valueChangeWillIgnore
        var command = Usp_GetSupportedDMResp.SupportedCommandResult()
        command.commandName = "Reset()"
        command.commandType = .cmdSync
        var event = Usp_GetSupportedDMResp.SupportedEventResult()
        event.eventName = "Changed!"
        event.argNames = ["Old", "New"]
        var keys = Usp_GetSupportedDMResp.SupportedUniqueKeySet()
        keys.keyNames = ["Alias"]
        var object = Usp_GetSupportedDMResp.SupportedObjectResult()
        object.supportedObjPath = "Device.WiFi.SSID.{i}."
        object.access = .objAddDelete
        object.isMultiInstance = true
        object.supportedParams = [param, counter]
        object.supportedCommands = [command]
        object.supportedEvents = [event]
        object.uniqueKeySets = [keys]
        var result = Usp_GetSupportedDMResp.RequestedObjectResult()
        result.reqObjPath = "Device.WiFi."
        result.dataModelInstUri = "urn:broadband-forum-org:tr-181-2-19-1-usp"
        result.supportedObjs = [object]
        var resp = Usp_GetSupportedDMResp()
        resp.reqObjResults = [result]

        guard case .response(.getSupportedDM(let dm)) = try decode(Fixtures.response("dm", .getSupportedDmResp, .getSupportedDmResp(resp))).body else {
            Issue.record("not a GetSupportedDMResp")
            return
        }
        let supported = try #require(dm.results.first?.objects.first)
        #expect(dm.results[0].dataModelURI == "urn:broadband-forum-org:tr-181-2-19-1-usp")
        #expect(supported.access == .addDelete)
        #expect(supported.isMultiInstance)
        #expect(supported.parameters.map(\.access) == [.readWrite, .readOnly])
        #expect(supported.parameters.map(\.valueChangeAllowed) == [true, false])
        #expect(supported.parameterTypes == ["Device.WiFi.SSID.{i}.SSID": .string, "Device.WiFi.SSID.{i}.BytesSent": .unsignedLong])
        #expect(supported.commands == [USPSupportedDataModel.SupportedCommand(name: "Reset()", inputArguments: [], outputArguments: [], isAsync: false)])
        #expect(supported.events == [USPSupportedDataModel.SupportedEvent(name: "Changed!", arguments: ["Old", "New"])])
        #expect(supported.uniqueKeySets == [["Alias"]])
    }

    @Test func getInstancesAndProtocolResp() throws {
        var instance = Usp_GetInstancesResp.CurrInstance()
        instance.instantiatedObjPath = "Device.WiFi.SSID.1."
        instance.uniqueKeys = ["Alias": "cpe-1"]
        var result = Usp_GetInstancesResp.RequestedPathResult()
        result.requestedPath = "Device.WiFi.SSID."
        result.currInsts = [instance]
        var denied = Usp_GetInstancesResp.RequestedPathResult()
        denied.requestedPath = "Device.Users."
        denied.errCode = 7006
        var resp = Usp_GetInstancesResp()
        resp.reqPathResults = [result, denied]
        guard case .response(.getInstances(let instances)) = try decode(Fixtures.response("gi", .getInstancesResp, .getInstancesResp(resp))).body else {
            Issue.record("not a GetInstancesResp")
            return
        }
        #expect(instances.results[0].instances == [USPInstancesResponse.Instance(path: "Device.WiFi.SSID.1.", uniqueKeys: ["Alias": "cpe-1"])])
        #expect(instances.results[1].failure?.code == .permissionDenied)

        var proto = Usp_GetSupportedProtocolResp()
        proto.agentSupportedProtocolVersions = "1.0,1.3"
        #expect(try decode(Fixtures.response("gp", .getSupportedProtoResp, .getSupportedProtocolResp(proto))).body
            == .response(.getSupportedProtocol(agentSupportedProtocolVersions: "1.0,1.3")))
    }

    @Test func errorMessage() throws {
        var error = Usp_Error()
        error.errCode = 7004
        error.errMsg = "Invalid arguments"
        var param = Usp_Error.ParamError()
        param.paramPath = "Device.WiFi.Radio.1.Channel"
        param.errCode = 7012
        param.errMsg = "Out of range"
        error.paramErrs = [param]
        var message = Usp_Msg()
        message.header.msgID = "tf/cmd/1/0/c9"
        message.header.msgType = .error
        message.body.error = error
        let decoded = try decode(message)
        #expect(decoded.body == .error(USPErrorMessage(code: .invalidArguments, message: "Invalid arguments", parameterErrors: [
            USPParameterError(path: "Device.WiFi.Radio.1.Channel", code: .invalidValue, message: "Out of range"),
        ])))
        #expect(decoded.answeredRequest?.commandID == "c9")
    }
}

/// Malformed or misplaced messages: each refusal says whether to answer with an Error.
@Suite struct MessageRefusalTests {
    let decoder = USPMessageDecoder()

    func refusal(_ message: Usp_Msg) throws -> USPMessageError {
        try #require(throws: USPMessageError.self) { try decoder.decode(try message.serializedBytes() as [UInt8]) }
    }

    @Test func undecodableBytesAreIgnored() throws {
        for bytes: [UInt8] in [[0xFF], [0x0A, 0x10, 0x01], [0x12, 0x03, 0x0A, 0x01, 0xC3]] {
            let error = try #require(throws: USPMessageError.self) { try decoder.decode(bytes) }
            #expect(error.code == .notProtobuf)
            #expect(error.action == .ignore)
            #expect(error.errorResponse() == nil)
        }
        let small = USPMessageDecoder(limits: USPLimits(maxRecordBytes: 8))
        #expect(try #require(throws: USPMessageError.self) { try small.decode(Data(count: 9)) }.code == .tooLarge)
    }

    @Test func headerProblems() throws {
        var noHeader = Fixtures.notify(.onBoardReq(Usp_Notify.OnBoardRequest()))
        noHeader.clearHeader()
        #expect(try refusal(noHeader).code == .missingHeader)

        let noID = Fixtures.notify("", .onBoardReq(Usp_Notify.OnBoardRequest()))
        let missing = try refusal(noID)
        #expect(missing.code == .missingMsgID)
        #expect(missing.action == .ignore)

        var noBody = Usp_Msg()
        noBody.header.msgID = "x"
        noBody.header.msgType = .getResp
        #expect(try refusal(noBody).code == .missingBody)
    }

    @Test func typeMismatchOnARequestIsAnswered() throws {
        var message = Fixtures.notify("n1", .onBoardReq(Usp_Notify.OnBoardRequest()))
        message.header.msgType = .get
        let error = try refusal(message)
        #expect(error.code == .typeMismatch)
        #expect(error.isRequest)
        #expect(error.action == .sendError(.invalidArguments))
        let reply = try #require(error.errorResponse())
        #expect(reply.header.msgID == "n1")
        #expect(reply.header.msgType == .error)
        #expect(reply.body.error.errCode == 7004)

        var response = Fixtures.response("r", .setResp, .getResp(Usp_GetResp()))
        response.header.msgType = .setResp
        let ignored = try refusal(response)
        #expect(ignored.code == .typeMismatch)
        #expect(ignored.action == .ignore)
    }

    @Test func requestsAControllerDoesNotServe() throws {
        var register = Usp_Msg()
        register.header.msgID = "reg-1"
        register.header.msgType = .register
        register.body.request.register = Usp_Register()
        let error = try refusal(register)
        #expect(error.code == .unsupportedRequest)
        #expect(error.errorResponse()?.body.error.errCode == 7001)

        var unknown = Usp_Msg()
        unknown.header.msgID = "new-1"
        unknown.header.msgType = .UNRECOGNIZED(40)
        unknown.body.request = Usp_Request()
        #expect(try refusal(unknown).action == .sendError(.messageNotSupported))
    }

    @Test func responsesAControllerNeverGetsAreIgnored() throws {
        let notifyResp = Fixtures.response("x", .notifyResp, .notifyResp(Usp_NotifyResp()))
        let error = try refusal(notifyResp)
        #expect(error.code == .unexpectedResponse)
        #expect(error.action == .ignore)
    }

    @Test func malformedNotifiesAreAnsweredWithInvalidArguments() throws {
        var complete = Usp_Notify.OperationComplete()
        complete.objPath = "Device.DeviceInfo.FirmwareImage.2."
        complete.commandName = "Download()"
        let cases: [Usp_Notify.OneOf_Notification?] = [
            nil, .event(Usp_Notify.Event()), .valueChange(Usp_Notify.ValueChange()), .objCreation(Usp_Notify.ObjectCreation()),
            .objDeletion(Usp_Notify.ObjectDeletion()), .operComplete(complete),
        ]
        for notification in cases {
            let error = try refusal(Fixtures.notify("n7", notification))
            #expect(error.code == .invalidRequest)
            #expect(error.action == .sendError(.invalidArguments))
            #expect(error.errorResponse()?.header.msgID == "n7")
        }
    }

    @Test func malformedResponsesKeepTheirMessageID() throws {
        var result = Usp_OperateResp.OperationResult()
        result.executedCommand = "Device.Reboot()"
        var resp = Usp_OperateResp()
        resp.operationResults = [result]
        let error = try refusal(Fixtures.response("tf/cmd/1/0/c5", .operateResp, .operateResp(resp)))
        #expect(error.code == .invalidResponse)
        #expect(error.action == .ignore)
        #expect(error.msgID == "tf/cmd/1/0/c5")

        let command = Fixtures.command(Fixtures.reboot, id: "c5")
        let failed = USPCommandResults.result(for: error, command: command, context: Fixtures.context)
        #expect(failed.status == .failed)
        #expect(failed.error.code == TwinfleetErrorCode.malformedResponse.rawValue)

        for kind: Usp_Response.OneOf_RespType in [
            .setResp({ var r = Usp_SetResp(); r.updatedObjResults = [Usp_SetResp.UpdatedObjectResult()]; return r }()),
            .addResp({ var r = Usp_AddResp(); r.createdObjResults = [Usp_AddResp.CreatedObjectResult()]; return r }()),
            .deleteResp({ var r = Usp_DeleteResp(); r.deletedObjResults = [Usp_DeleteResp.DeletedObjectResult()]; return r }()),
        ] {
            let type = USPMessageDecoder.type(of: kind)
            #expect(try refusal(Fixtures.response("m", type, kind)).code == .invalidResponse)
        }
    }
}
