import Dispatch
import Synchronization
import TwinfleetModel

/// The typed data models of every root and protocol flavour Twinfleet knows, loaded from the
/// Broadband Forum's machine-readable definitions.
///
/// Load it once when a service starts (``load(directory:)`` takes well under a second in a
/// release build) and share it: it is an immutable value. Lookups and validation pick the model
/// by the path's root (`Device`, `InternetGatewayDevice`) and the device's protocol, because the
/// CWMP and USP flavours of TR-181 differ (`Device.ManagementServer.` is CWMP only, commands and
/// events are USP only).
public struct DataModelSchema: Sendable {
    /// The files ``load(directory:)`` reads: the common data types, TR-181 for CWMP and USP, and
    /// TR-098.
    public static let standardFiles = [
        "tr-106-types.xml",
        "tr-181-2-19-1-cwmp-full.xml",
        "tr-181-2-19-1-usp-full.xml",
        "tr-098-1-8-0-full.xml",
    ]

    /// Every loaded model.
    public let models: [DataModelDefinition]

    /// A schema of the given models; throws when two of them share a root and protocol.
    public init(models: [DataModelDefinition]) throws(SchemaLoadError) {
        for (position, model) in models.enumerated() {
            if let other = models[..<position].first(where: { $0.root == model.root && $0.protocol == model.protocol }) {
                throw SchemaLoadError(.duplicateModel, "\(other.name) (\(other.spec)) and \(model.name) (\(model.spec)) both define \(model.root). for \(model.protocol)")
            }
        }
        self.models = models
    }

    /// Loads ``standardFiles`` from `directory` (the repository's `../shared/specs/data-models`).
    public static func load(directory: String) throws(SchemaLoadError) -> DataModelSchema {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return try load(files: standardFiles.map { base + $0 })
    }

    /// Loads the given definition files. Files without a `<model>` (such as
    /// `tr-106-types.xml`) supply named data types to the others; the model files are parsed in
    /// parallel on Dispatch threads while the caller waits, so call it at start-up, before the
    /// service group runs, not from a task on the cooperative pool.
    public static func load(files: [String]) throws(SchemaLoadError) -> DataModelSchema {
        var typeFiles: [(String, [UInt8])] = []
        var modelFiles: [(String, [UInt8])] = []
        for path in files {
            let bytes = try FileBytes.contents(of: path)
            if containsModel(bytes) { modelFiles.append((path, bytes)) } else { typeFiles.append((path, bytes)) }
        }
        var common: [String: ParameterSyntax] = [:]
        for (path, bytes) in typeFiles {
            let file = try ModelFileReader.read(bytes: bytes, name: path, common: common)
            common.merge(file.dataTypes) { _, new in new }
        }
        let results = Mutex([Result<ModelFile, SchemaLoadError>?](repeating: nil, count: modelFiles.count))
        let (shared, pending) = (common, modelFiles)
        DispatchQueue.concurrentPerform(iterations: pending.count) { position in
            let (path, bytes) = pending[position]
            let result = Result { () throws(SchemaLoadError) in try ModelFileReader.read(bytes: bytes, name: path, common: shared) }
            results.withLock { $0[position] = result }
        }
        var models: [DataModelDefinition] = []
        for result in results.withLock({ $0 }) {
            if let model = try result?.get().model { models.append(model) }
        }
        return try DataModelSchema(models: models)
    }

    /// True when the document has a `<model` start tag; types-only files are read first.
    private static func containsModel(_ bytes: [UInt8]) -> Bool {
        let needle = Array("<model ".utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while let hit = buffer[start...].firstIndex(of: needle[0]) {
                if buffer[hit...].starts(with: needle) { return true }
                start = hit + 1
            }
            return false
        }
    }

    /// The model for `root` (`Device`, `InternetGatewayDevice`) in the flavour of `protocol`.
    public func model(root: String, protocol: DeviceProtocol) -> DataModelDefinition? {
        models.first { $0.root == root && $0.protocol == `protocol` }
    }

    /// The definition of a concrete path: instance numbers are matched against the model's
    /// tables (`Device.WiFi.AccessPoint.2.AssociatedDevice.7.SignalStrength` →
    /// `Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.SignalStrength`); a table's path
    /// without an instance (`Device.IP.Interface.`) gives the table. Nil when the model has no
    /// such path, including when a number stands where the model has no table.
    public func lookup(_ path: ParameterPath, protocol: DeviceProtocol) -> SchemaNode? {
        model(root: path.root, protocol: `protocol`)?.definition(atPattern: PathPattern.pattern(of: path))
    }

    /// Like the `ParameterPath` overload, for USP path text: besides instance
    /// numbers it accepts instance references (`[cpe-1]`, `[Enable==true]`), the wildcard `*`,
    /// `{i}`, and command and event names (`Device.Reboot()`, `Device.Boot!`).
    public func lookup(_ path: String, protocol: DeviceProtocol) -> SchemaNode? {
        guard let pattern = PathPattern.pattern(ofUSPPath: path) else { return nil }
        return model(root: String(pattern.prefix { $0 != "." }), protocol: `protocol`)?.definition(atPattern: pattern)
    }

    /// The objects at and below an object path (a pattern or a concrete path), in document order.
    public func objects(under path: String, protocol: DeviceProtocol) -> [ObjectDefinition] {
        guard let pattern = PathPattern.pattern(ofUSPPath: path),
              let model = model(root: String(pattern.prefix { $0 != "." }), protocol: `protocol`) else { return [] }
        return model.objects(under: pattern)
    }

    /// The parameters of the objects at and below an object path (a pattern such as
    /// `Device.WiFi.Radio.{i}.` or a concrete path such as `Device.WiFi.Radio.1.`), in document
    /// order.
    public func parameters(under path: String, protocol: DeviceProtocol) -> [ParameterDefinition] {
        guard let pattern = PathPattern.pattern(ofUSPPath: path),
              let model = model(root: String(pattern.prefix { $0 != "." }), protocol: `protocol`) else { return [] }
        return model.parameters(under: pattern)
    }
}
