#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TwinfleetModel

/// `Inform`: the CPE opens every session with it.
public struct Inform: Hashable, Sendable {
    /// Who the device is.
    public var deviceId: DeviceIdStruct
    /// Why the session was opened (at most 64 events).
    public var events: [EventStruct]
    /// Always 1 in practice (multiple envelopes per HTTP message were dropped from CWMP).
    public var maxEnvelopes: UInt32
    /// The device's clock; ``ParameterValue/unknownTime`` before it has synchronised.
    public var currentTime: Date
    /// How many times this Inform has been retried.
    public var retryCount: UInt32
    /// The forced-inform parameters and values that changed under passive or active notification.
    public var parameterList: [ParameterValueStruct]

    /// Creates an Inform.
    public init(deviceId: DeviceIdStruct, events: [EventStruct], maxEnvelopes: UInt32 = 1, currentTime: Date,
                retryCount: UInt32 = 0, parameterList: [ParameterValueStruct] = []) {
        self.deviceId = deviceId
        self.events = events
        self.maxEnvelopes = maxEnvelopes
        self.currentTime = currentTime
        self.retryCount = retryCount
        self.parameterList = parameterList
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        deviceId = try DeviceIdStruct(decoding: try node.required("DeviceId"))
        events = node.array("Event").map(EventStruct.init(decoding:))
        // Devices that omit MaxEnvelopes or RetryCount mean the only values ever used.
        maxEnvelopes = try node.unsignedInt("MaxEnvelopes", default: 1)
        if node.child("CurrentTime") == nil {
            currentTime = ParameterValue.unknownTime
        } else {
            currentTime = try node.dateTime("CurrentTime")
        }
        retryCount = try node.unsignedInt("RetryCount", default: 0)
        parameterList = try ParameterValueStruct.decodeList(node)
    }

    func encode(into writer: inout XMLWriter) {
        deviceId.encode(into: &writer)
        writer.openArray("Event", type: "cwmp:EventStruct", count: events.count)
        for event in events { event.encode(into: &writer) }
        writer.close("Event")
        writer.element("MaxEnvelopes", maxEnvelopes)
        writer.element("CurrentTime", ParameterValue.dateTime(currentTime).wireString)
        writer.element("RetryCount", retryCount)
        ParameterValueStruct.encodeList(parameterList, into: &writer)
    }
}

/// `InformResponse`: the ACS accepts the session.
public struct InformResponse: Hashable, Sendable {
    /// Envelopes the ACS accepts per HTTP message; always 1.
    public var maxEnvelopes: UInt32

    /// Creates a response.
    public init(maxEnvelopes: UInt32 = 1) {
        self.maxEnvelopes = maxEnvelopes
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        maxEnvelopes = try node.unsignedInt("MaxEnvelopes", default: 1)
    }

    func encode(into writer: inout XMLWriter) {
        writer.element("MaxEnvelopes", maxEnvelopes)
    }
}

/// `DeviceIdStruct`: the identity a CPE reports in every Inform.
public struct DeviceIdStruct: Hashable, Sendable {
    /// The manufacturer's name.
    public var manufacturer: String
    /// The manufacturer's IEEE OUI, six hex digits.
    public var oui: String
    /// The product class; may be empty.
    public var productClass: String
    /// The serial number.
    public var serialNumber: String

    /// Creates a struct.
    public init(manufacturer: String, oui: String, productClass: String, serialNumber: String) {
        self.manufacturer = manufacturer
        self.oui = oui
        self.productClass = productClass
        self.serialNumber = serialNumber
    }

    /// The platform's device ID for this CPE (`OUI-ProductClass-SerialNumber`).
    public func deviceID() throws(ModelError) -> DeviceID {
        try DeviceID.cwmp(oui: oui, productClass: productClass, serialNumber: serialNumber)
    }

    init(decoding node: XMLNode) throws(CWMPCodecError) {
        manufacturer = node.string("Manufacturer")
        oui = node.string("OUI")
        productClass = node.string("ProductClass")
        serialNumber = node.string("SerialNumber")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("DeviceId")
        writer.element("Manufacturer", manufacturer)
        writer.element("OUI", oui)
        writer.element("ProductClass", productClass)
        writer.element("SerialNumber", serialNumber)
        writer.close("DeviceId")
    }
}

/// `EventStruct`: one reason for an Inform.
public struct EventStruct: Hashable, Sendable {
    /// The event code, normalised (see ``EventCode/init(normalizing:)``).
    public var eventCode: EventCode
    /// The command key of the RPC the event completes (`M Reboot`, `7 TRANSFER COMPLETE`…).
    public var commandKey: String

    /// Creates a struct.
    public init(eventCode: EventCode, commandKey: String = "") {
        self.eventCode = eventCode
        self.commandKey = commandKey
    }

    init(decoding node: XMLNode) {
        eventCode = EventCode(normalizing: node.string("EventCode"))
        commandKey = node.string("CommandKey")
    }

    func encode(into writer: inout XMLWriter) {
        writer.open("EventStruct")
        writer.element("EventCode", eventCode.rawValue)
        writer.element("CommandKey", commandKey)
        writer.close("EventStruct")
    }
}
