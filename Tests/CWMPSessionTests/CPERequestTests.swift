import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// Requests the CPE makes after its Inform, and what the ACS answers.
@Suite struct CPERequestTests {
    @Test func transferCompleteMapsToTheCommandByItsKey() throws {
        var harness = Harness()
        try harness.inform([EventStruct(eventCode: .transferComplete), EventStruct(eventCode: .mDownload, commandKey: "cmd-dl")])
        let start = Date(timeIntervalSince1970: 1_749_999_000), end = Date(timeIntervalSince1970: 1_749_999_060)
        let step = harness.post(.transferComplete(TransferComplete(commandKey: "cmd-dl", startTime: start, completeTime: end)), id: "tc-1")

        let response = try decodeResponse(step)
        #expect(response.message == .transferCompleteResponse)
        #expect(response.header.id == "tc-1")
        guard case .transferComplete(let complete)? = step.events.first?.body else {
            Issue.record("no transfer-complete event")
            return
        }
        #expect(complete.commandKey == "cmd-dl")
        #expect(complete.faultCode == 0)
        #expect(!complete.autonomous)
        #expect(complete.startTimeUs == start.unixMicroseconds)
        #expect(complete.completeTimeUs == end.unixMicroseconds)
        #expect(sameStatuses(step.statuses, [("cmd-dl", .succeeded)]))
        #expect(step.results.first?.deviceID == testDeviceID)
        #expect(harness.session.state == .cpeRequests)
    }

    @Test func failedTransferFailsTheCommand() throws {
        var harness = Harness()
        try harness.inform([EventStruct(eventCode: .transferComplete)])
        let transfer = TransferComplete(commandKey: "cmd-dl", fault: TransferFault(code: .fileCorrupted, string: "bad checksum"), startTime: t0, completeTime: t0)
        let step = harness.post(.transferComplete(transfer))
        #expect(sameStatuses(step.statuses, [("cmd-dl", .failed)]))
        let error = try #require(step.results.first?.error)
        #expect(error.code == 9018)
        #expect(error.message == "bad checksum")
        #expect(!error.retriable)
        guard case .transferComplete(let complete)? = step.events.first?.body else { return }
        #expect(complete.faultCode == 9018)
        #expect(complete.faultString == "bad checksum")
    }

    @Test func transferCompleteFixtureIsAcknowledged() throws {
        var harness = Harness()
        try harness.inform()
        let step = harness.post(bytes: Array(try vector("transfer_complete_success_request.xml").utf8))
        #expect(try decodeResponse(step).message == .transferCompleteResponse)
        #expect(sameStatuses(step.statuses, [("upgrade", .succeeded)]))
    }

    @Test func autonomousTransferCompleteIsPublishedWithoutAResult() throws {
        var harness = Harness()
        try harness.inform([EventStruct(eventCode: .autonomousTransferComplete)])
        let transfer = AutonomousTransferComplete(transferURL: "http://files/fw.bin", isDownload: true, fileType: "1 Firmware Upgrade Image",
                                                  fileSize: 4096, targetFileName: "fw.bin", startTime: t0, completeTime: t0)
        let step = harness.post(.autonomousTransferComplete(transfer))
        #expect(try decodeResponse(step).message == .autonomousTransferCompleteResponse)
        #expect(step.results.isEmpty)
        guard case .transferComplete(let complete)? = step.events.first?.body else {
            Issue.record("no transfer-complete event")
            return
        }
        #expect(complete.autonomous)
        #expect(complete.isDownload)
        #expect(complete.transferURL == "http://files/fw.bin")
        #expect(complete.fileSize == 4096)
        #expect(complete.targetFileName == "fw.bin")
    }

    @Test func getRPCMethodsListsTheACSMethods() throws {
        var harness = Harness()
        try harness.inform()
        let step = harness.post(.getRPCMethods, id: "g1")
        let response = try decodeResponse(step)
        #expect(response.header.id == "g1")
        guard case .getRPCMethodsResponse(let methods) = response.message else {
            Issue.record("expected GetRPCMethodsResponse, got \(response.message.methodName)")
            return
        }
        #expect(methods.methodList == CWMPSessionConfiguration.default.acsMethods)
        #expect(methods.methodList.contains("TransferComplete"))
    }

    @Test func requestDownloadIsAcknowledged() throws {
        var harness = Harness()
        try harness.inform([EventStruct(eventCode: .requestDownload)])
        let step = harness.post(.requestDownload(RequestDownload(fileType: "3 Vendor Configuration File")))
        #expect(try decodeResponse(step).message == .requestDownloadResponse)
        #expect(step.notes.contains { $0.contains("RequestDownload") })
        #expect(harness.session.state == .cpeRequests)
    }

    @Test func unknownCPEMethodGets8000AndTheSessionGoesOn() throws {
        var harness = Harness()
        try harness.inform()
        let step = harness.post(.kicked(Kicked(command: "c", referer: "r", arg: "a", next: "n")), id: "k1")
        let fault = try sentFault(step)
        #expect(fault.code == .methodNotSupported)
        #expect(try decodeResponse(step).header.id == "k1")
        #expect(!step.sessionEnded)
        #expect(harness.session.state == .cpeRequests)
        _ = harness.endPlan()
        #expect(isNoContent(harness.postEmpty()))
    }

    @Test func unsupportedMethodOnTheWireGets8000() throws {
        var harness = Harness()
        try harness.inform()
        let xml = """
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
            <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">q1</cwmp:ID></soapenv:Header>
            <soapenv:Body><cwmp:GetQueuedTransfers/></soapenv:Body></soapenv:Envelope>
            """
        let step = harness.post(bytes: Array(xml.utf8))
        #expect(try sentFault(step).code == .methodNotSupported)
        #expect(harness.session.state == .cpeRequests)
    }

    @Test func malformedRequestGetsAFaultAndTheSessionGoesOn() throws {
        var harness = Harness()
        try harness.inform()
        let step = harness.post(bytes: Array("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>".utf8))
        let fault = try sentFault(step)
        #expect(fault.code == .internalError)
        #expect(!step.sessionEnded)
        #expect(harness.session.state == .cpeRequests)
    }

    @Test func faultStatusIsConfigurable() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(faultHTTPStatus: 500))
        try harness.inform()
        let step = harness.post(.kicked(Kicked(command: "c", referer: "r", arg: "a", next: "n")))
        #expect(step.response?.status == 500)
        #expect(try codecDecoder.decode(#require(step.response).body).message.isFault)
    }
}
