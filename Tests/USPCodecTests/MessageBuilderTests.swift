import Foundation
import SwiftProtobuf
import Testing
@testable import USPCodec

/// Every message the controller builds survives serialization with the right header and body.
@Suite struct MessageBuilderTests {
    @Test func get() throws {
        let parsed = try Fixtures.parse(USPMessages.get(msgID: "g1", paths: ["Device.WiFi.", "Device.DeviceInfo.UpTime"], maxDepth: 1))
        #expect(parsed.header.msgID == "g1")
        #expect(parsed.header.msgType == .get)
        #expect(parsed.body.request.get.paramPaths == ["Device.WiFi.", "Device.DeviceInfo.UpTime"])
        #expect(parsed.body.request.get.maxDepth == 1)
    }

    @Test func set() throws {
        let objects = [USPObjectSettings(path: "Device.WiFi.SSID.1.", parameters: [USPParameterSetting(name: "SSID", value: "home"),
                                                                                  USPParameterSetting(name: "Enable", value: "true", required: false)])]
        let parsed = try Fixtures.parse(USPMessages.set(msgID: "s1", objects: objects))
        #expect(parsed.header.msgType == .set)
        let set = parsed.body.request.set
        #expect(!set.allowPartial)
        #expect(set.updateObjs.map(\.objPath) == ["Device.WiFi.SSID.1."])
        #expect(set.updateObjs[0].paramSettings.map(\.param) == ["SSID", "Enable"])
        #expect(set.updateObjs[0].paramSettings.map(\.required) == [true, false])
    }

    @Test func add() throws {
        let parsed = try Fixtures.parse(USPMessages.add(msgID: "a1", objects: [USPObjectSettings(path: "Device.WiFi.SSID.", parameters: [USPParameterSetting(name: "SSID", value: "guest")])]))
        #expect(parsed.header.msgType == .add)
        #expect(parsed.body.request.add.createObjs[0].objPath == "Device.WiFi.SSID.")
        #expect(parsed.body.request.add.createObjs[0].paramSettings[0].value == "guest")
        #expect(parsed.body.request.add.createObjs[0].paramSettings[0].required)
    }

    @Test func delete() throws {
        let parsed = try Fixtures.parse(USPMessages.delete(msgID: "d1", paths: ["Device.WiFi.SSID.3."]))
        #expect(parsed.header.msgType == .delete)
        #expect(parsed.body.request.delete.objPaths == ["Device.WiFi.SSID.3."])
        #expect(!parsed.body.request.delete.allowPartial)
    }

    @Test func operate() throws {
        let parsed = try Fixtures.parse(USPMessages.operate(msgID: "o1", command: "Device.IP.Diagnostics.IPPing()", commandKey: "ck", inputArguments: ["Host": "192.0.2.1"], sendResponse: false))
        #expect(parsed.header.msgType == .operate)
        let operate = parsed.body.request.operate
        #expect(operate.command == "Device.IP.Diagnostics.IPPing()")
        #expect(operate.commandKey == "ck")
        #expect(operate.inputArgs == ["Host": "192.0.2.1"])
        #expect(!operate.sendResp)
    }

    @Test func discoveryRequests() throws {
        let dm = try Fixtures.parse(USPMessages.getSupportedDM(msgID: "dm", paths: ["Device."], firstLevelOnly: true, returnEvents: false))
        #expect(dm.header.msgType == .getSupportedDm)
        #expect(dm.body.request.getSupportedDm.objPaths == ["Device."])
        #expect(dm.body.request.getSupportedDm.firstLevelOnly)
        #expect(dm.body.request.getSupportedDm.returnCommands)
        #expect(!dm.body.request.getSupportedDm.returnEvents)
        #expect(dm.body.request.getSupportedDm.returnParams)
        #expect(dm.body.request.getSupportedDm.returnUniqueKeySets)

        let instances = try Fixtures.parse(USPMessages.getInstances(msgID: "gi", paths: ["Device.WiFi.SSID."]))
        #expect(instances.header.msgType == .getInstances)
        #expect(instances.body.request.getInstances.objPaths == ["Device.WiFi.SSID."])
        #expect(!instances.body.request.getInstances.firstLevelOnly)

        let proto = try Fixtures.parse(USPMessages.getSupportedProtocol(msgID: "gp"))
        #expect(proto.header.msgType == .getSupportedProto)
        #expect(proto.body.request.getSupportedProtocol.controllerSupportedProtocolVersions == "1.3,1.4")
    }

    @Test func errorMessage() throws {
        let parsed = try Fixtures.parse(USPMessages.error(msgID: "notify-9", code: .invalidArguments, message: "bad",
                                                          parameterErrors: [USPParameterError(path: "Device.X", code: .invalidPath, message: "no")]))
        #expect(parsed.header.msgID == "notify-9")
        #expect(parsed.header.msgType == .error)
        #expect(parsed.body.error.errCode == 7004)
        #expect(parsed.body.error.errMsg == "bad")
        #expect(parsed.body.error.paramErrs.map(\.paramPath) == ["Device.X"])
        #expect(parsed.body.error.paramErrs.map(\.errCode) == [7026])
    }

    @Test func notifyResponseRepeatsTheNotify() throws {
        let decoder = USPMessageDecoder()
        var event = Usp_Notify.Event()
        event.objPath = "Device."
        event.eventName = "Boot!"
        let message = try decoder.decode(Fixtures.notify("agent-msg-3", subscriptionID: "tf-boot", sendResp: true, .event(event)))
        let response = try #require(USPMessages.notifyResponse(to: message))
        let parsed = try Fixtures.parse(response)
        #expect(parsed.header.msgID == "agent-msg-3")
        #expect(parsed.header.msgType == .notifyResp)
        #expect(parsed.body.response.notifyResp.subscriptionID == "tf-boot")

        let quiet = try decoder.decode(Fixtures.notify("agent-msg-4", sendResp: false, .event(event)))
        #expect(USPMessages.notifyResponse(to: quiet) == nil)
    }

    @Test func subscriptionsAreAddsOfTheSubscriptionTable() throws {
        let subscriptions = [
            USPSubscription(id: "tf-boot", notificationType: .event, referenceList: ["Device.Boot!"]),
            USPSubscription(id: "tf-vc", notificationType: .valueChange, referenceList: ["Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.*.SSID"],
                            persistent: false, notificationRetry: true, timeToLive: 3600),
        ]
        let parsed = try Fixtures.parse(USPMessages.subscribe(msgID: USPMessageID.controller(purpose: "subscribe", token: "1").rawValue, subscriptions: subscriptions))
        #expect(parsed.header.msgType == .add)
        let add = parsed.body.request.add
        #expect(add.allowPartial)
        #expect(add.createObjs.map(\.objPath) == ["Device.LocalAgent.Subscription.", "Device.LocalAgent.Subscription."])
        func settings(_ index: Int) -> [String: String] {
            Dictionary(uniqueKeysWithValues: add.createObjs[index].paramSettings.map { ($0.param, $0.value) })
        }
        #expect(settings(0) == ["Enable": "true", "ID": "tf-boot", "NotifType": "Event", "ReferenceList": "Device.Boot!", "Persistent": "true"])
        #expect(settings(1)["ReferenceList"] == "Device.DeviceInfo.SoftwareVersion,Device.WiFi.SSID.*.SSID")
        #expect(settings(1)["NotifType"] == "ValueChange")
        #expect(settings(1)["Persistent"] == "false")
        #expect(settings(1)["NotifRetry"] == "true")
        #expect(settings(1)["TimeToLive"] == "3600")
        #expect(add.createObjs.allSatisfy { $0.paramSettings.allSatisfy(\.required) })
        #expect(USPSubscription.NotificationType.allCases.map(\.rawValue) == ["ValueChange", "ObjectCreation", "ObjectDeletion", "OperationComplete", "Event"])
    }

    @Test func builtRequestsAreRefusedByTheAgentMessageDecoder() throws {
        // A controller-only request coming back from an agent is answered with 7001.
        let error = try #require(throws: USPMessageError.self) { try USPMessageDecoder().decode(USPMessages.get(msgID: "x", paths: ["Device."])) }
        #expect(error.code == .unsupportedRequest)
        #expect(error.action == .sendError(.messageNotSupported))
    }
}
