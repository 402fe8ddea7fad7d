import DataModel
import Testing

/// The Broadband Forum files the tests read, found from this file's location: the repository
/// is two directories above `Tests/DataModelTests`, and the specs are `../shared/specs` from it.
enum SpecFixtures {
    /// `<repo>/../shared/specs/data-models`.
    static let dataModelsDirectory: String = {
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)  // SpecFixtures.swift, DataModelTests, Tests
        return components.joined(separator: "/") + "/../shared/specs/data-models"
    }()

    /// The standard set, loaded once for all tests; a load failure is reported by every test
    /// that needs the schema rather than skipping it.
    static let loaded: Result<DataModelSchema, SchemaLoadError> = Result { () throws(SchemaLoadError) in
        try DataModelSchema.load(directory: dataModelsDirectory)
    }

    /// The loaded schema, or the load error (which names the missing or broken file).
    static func schema() throws -> DataModelSchema {
        try loaded.get()
    }
}
