/// A data-model definition file could not be loaded.
///
/// Messages name the file and, for XML problems, the line, so a broken or truncated spec file is
/// found without a debugger.
public struct SchemaLoadError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The file or directory does not exist or cannot be read.
        case unreadableFile
        /// The file is not well-formed XML.
        case malformedXML
        /// The XML is well-formed but not a usable Broadband Forum data-model document: a
        /// missing attribute, an unknown type, a facet that is not a number.
        case invalidDefinition
        /// A `dataType` reference names a type defined in none of the loaded files, or types
        /// refer to each other in a cycle.
        case unresolvedDataType
        /// Two loaded files define the same root for the same protocol.
        case duplicateModel

        /// The code's name, e.g. `malformedXML`.
        public var description: String { rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// What went wrong and where, for people.
    public var message: String
    /// The source file that raised the error (`#fileID`).
    public var file: String
    /// The source line that raised the error.
    public var line: Int

    /// Creates an error; `file` and `line` default to the caller's location.
    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// `code: message (file:line)`.
    public var description: String { "\(code): \(message) (\(file):\(line))" }
}
