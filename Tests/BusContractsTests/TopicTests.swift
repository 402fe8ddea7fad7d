import BusContracts
import Testing

@Suite struct TopicTests {
    @Test func versionedNames() {
        #expect(Topic.deviceEvents == "cpe.device-events.v1")
        #expect(Topic.commands == "cpe.commands.v1")
        #expect(Topic.commandResults == "cpe.command-results.v1")
        #expect(Topic.twinChanges == "cpe.twin-changes.v1")
        #expect(Topic.anomalies == "cpe.anomalies.v1")
        #expect(Topic.deadLetter == "cpe.dead-letter.v1")
        #expect(Topic.fixed.count == 6)
        #expect(Set(Topic.fixed).count == 6)
    }

    @Test func deliveriesInbox() throws {
        #expect(try Topic.deliveries(instance: "cwmp-ingress-0") == "cpe.deliveries.v1.cwmp-ingress-0")
        #expect(try Topic.deliveries(instance: "usp-ingress-12") == "cpe.deliveries.v1.usp-ingress-12")
    }

    @Test(arguments: ["", "CWMP-0", "cwmp_ingress", "cwmp.ingress", "a b", "ingrëss", "a/b"])
    func refusesInvalidInstances(_ instance: String) {
        let error = #expect(throws: ContractError.self) { try Topic.deliveries(instance: instance) }
        #expect(error?.code == .invalidInstanceID)
    }

    @Test func instanceLengthKeepsTopicNamesLegal() throws {
        let longest = try Topic.deliveries(instance: String(repeating: "a", count: Topic.maxInstanceIDLength))
        #expect(longest.utf8.count == 249)
        #expect(throws: ContractError.self) { try Topic.deliveries(instance: String(repeating: "a", count: Topic.maxInstanceIDLength + 1)) }
    }

    @Test func allListsFixedTopicsThenInboxesWithoutDuplicates() throws {
        let names = try Topic.all(instances: ["cwmp-ingress-0", "usp-ingress-0", "cwmp-ingress-0"])
        #expect(names == Topic.fixed + ["cpe.deliveries.v1.cwmp-ingress-0", "cpe.deliveries.v1.usp-ingress-0"])
        #expect(try Topic.all(instances: []) == Topic.fixed)
        #expect(throws: ContractError.self) { try Topic.all(instances: ["ok", "Not-OK"]) }
    }

    @Test func everyNameIsALegalKafkaTopic() throws {
        for name in try Topic.all(instances: ["cwmp-ingress-0"]) {
            #expect(name.utf8.count <= 249)
            #expect(name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            })
        }
    }

    @Test func instanceOfAnInbox() {
        #expect(Topic.instance(ofDeliveries: "cpe.deliveries.v1.cwmp-ingress-0") == "cwmp-ingress-0")
        #expect(Topic.instance(ofDeliveries: "cpe.deliveries.v1.") == nil)
        #expect(Topic.instance(ofDeliveries: "cpe.deliveries.v1.Bad") == nil)
        #expect(Topic.instance(ofDeliveries: Topic.commands) == nil)
    }
}

@Suite struct RecordHeaderTests {
    @Test func names() {
        #expect(RecordHeader.contentType == "content-type")
        #expect(RecordHeader.schema == "schema")
        #expect(RecordHeader.errorCode == "twinfleet-error-code")
    }

    @Test func valuesNameTheMessage() {
        #expect(RecordHeader.contentType(of: Twinfleet_Bus_V1_DeviceEvent.self) == "application/x-protobuf; message=twinfleet.bus.v1.DeviceEvent")
        #expect(RecordHeader.schema(of: Twinfleet_Bus_V1_CommandEnvelope.self) == "twinfleet.bus.v1.CommandEnvelope")
        let headers = RecordHeader.describing(Twinfleet_Bus_V1_DeadLetter.self)
        #expect(headers.map(\.name) == ["content-type", "schema"])
        #expect(headers.map(\.value) == ["application/x-protobuf; message=twinfleet.bus.v1.DeadLetter", "twinfleet.bus.v1.DeadLetter"])
    }
}
