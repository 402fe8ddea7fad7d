import BusContracts
import CWMPCodec
import CWMPSession
import Foundation
import Testing
import TwinfleetModel

/// Refresh: a subtree read into the twin as one chunked full-sync ParameterReport.
@Suite struct RefreshTests {
    static let names = GetParameterNamesResponse(parameterList: [
        ParameterInfoStruct(name: "Device.WiFi.", writable: false),
        ParameterInfoStruct(name: "Device.WiFi.RadioNumberOfEntries", writable: false),
        ParameterInfoStruct(name: "Device.WiFi.Radio.", writable: false),
        ParameterInfoStruct(name: "Device.WiFi.Radio.1.", writable: false),
        ParameterInfoStruct(name: "Device.WiFi.Radio.1.Enable", writable: true),
        ParameterInfoStruct(name: "Device.WiFi.Radio.1.Channel", writable: true),
        ParameterInfoStruct(name: "Device.WiFi.Radio.2.Enable", writable: true),
        ParameterInfoStruct(name: "Device.WiFi.Radio.2.Channel", writable: true),
        ParameterInfoStruct(name: "Device.Elsewhere.Thing", writable: true),
    ])

    /// Answers each chunk's GetParameterValues with a value for every name asked.
    func values(for message: CWMPMessage) throws -> CWMPMessage {
        guard case .getParameterValues(let request) = message else {
            Issue.record("expected GetParameterValues, got \(message.methodName)")
            throw HarnessError.unexpected
        }
        return .getParameterValuesResponse(GetParameterValuesResponse(parameterList: request.parameterNames.map {
            ParameterValueStruct(name: $0, value: $0.hasSuffix("Enable") ? .boolean(true) : .unsignedInt(6))
        }))
    }

    @Test func refreshReadsLeavesInChunks() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(refreshChunkSize: 2))
        try harness.informAndPark()
        var step = harness.deliver(command("c-refresh", refresh("Device.WiFi.")))
        #expect(try sentRPC(step).message == .getParameterNames(GetParameterNames(parameterPath: "Device.WiFi.", nextLevel: false)))
        _ = harness.endPlan(planned: 1)

        step = try harness.answer(step, with: .getParameterNamesResponse(Self.names))
        var chunks: [[String]] = []
        var reports: [Twinfleet_Bus_V1_ParameterReport] = []
        while step.response?.status == 200, let rpc = try? sentRPC(step) {
            guard case .getParameterValues(let request) = rpc.message else { break }
            chunks.append(request.parameterNames)
            #expect(rpc.holdRequests == true)
            step = try harness.answer(step, with: values(for: rpc.message))
            reports += step.reports
        }
        #expect(chunks == [["Device.WiFi.RadioNumberOfEntries", "Device.WiFi.Radio.1.Enable"],
                           ["Device.WiFi.Radio.1.Channel", "Device.WiFi.Radio.2.Enable"],
                           ["Device.WiFi.Radio.2.Channel"]])
        #expect(reports.map(\.chunkIndex) == [0, 1, 2])
        #expect(reports.map(\.finalChunk) == [false, false, true])
        #expect(reports.allSatisfy { $0.fullSyncRoot == "Device.WiFi." && $0.commandID == "c-refresh" })
        #expect(Set(reports.map(\.reportID)).count == 1)
        #expect(reports[0].parameters.map(\.writable) == [false, true])
        #expect(reports[0].parameters.last?.value.value == .booleanValue(true))
        #expect(sameStatuses(step.statuses, [("c-refresh", .succeeded)]))
        #expect(isNoContent(step))
        #expect(harness.session.rpcCount == 4)
    }

    @Test func refreshWithoutAPathReadsTheDevicesRoot() throws {
        var harness = Harness()
        try harness.inform(parameters: [ParameterValueStruct(name: "InternetGatewayDevice.DeviceInfo.SoftwareVersion", value: .string("1"))])
        _ = harness.deliver(command("c-sync", refresh("")))
        let step = harness.postEmpty()
        #expect(try sentRPC(step).message == .getParameterNames(GetParameterNames(parameterPath: "InternetGatewayDevice.", nextLevel: false)))
    }

    @Test func emptySubtreeIsOneEmptyFinalChunk() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", refresh("Device.Hosts.")))
        let after = try harness.answer(step, with: .getParameterNamesResponse(GetParameterNamesResponse(parameterList: [ParameterInfoStruct(name: "Device.Hosts.", writable: false)])))
        let report = try #require(after.reports.first)
        #expect(after.reports.count == 1)
        #expect(report.parameters.isEmpty)
        #expect(report.finalChunk)
        #expect(report.fullSyncRoot == "Device.Hosts.")
        #expect(sameStatuses(after.statuses, [("c1", .succeeded)]))
    }

    @Test func faultDuringRefreshLeavesTheReportUnfinished() throws {
        var harness = Harness(configuration: CWMPSessionConfiguration(refreshChunkSize: 3))
        try harness.informAndPark()
        var step = harness.deliver(command("c1", refresh("Device.WiFi.")))
        step = try harness.answer(step, with: .getParameterNamesResponse(Self.names))
        step = try harness.answer(step, with: values(for: try sentRPC(step).message))
        #expect(step.reports.map(\.finalChunk) == [false])
        step = try harness.answer(step, with: .fault(CWMPFault(code: .invalidParameterName, string: "gone")))
        #expect(step.reports.isEmpty)
        #expect(sameStatuses(step.statuses, [("c1", .failed)]))
        let error = try #require(step.results.first?.error)
        #expect(error.code == 9005)
        #expect(error.message.contains("chunk 1"))
    }

    @Test func refreshOfAParameterIsRefused() throws {
        var harness = Harness()
        try harness.informAndPark()
        let step = harness.deliver(command("c1", refresh("Device.DeviceInfo.UpTime")))
        #expect(sameStatuses(step.statuses, [("c1", .failed)]))
        #expect(step.results.first?.error.code == TwinfleetErrorCode.invalidCommand.rawValue)
    }
}
