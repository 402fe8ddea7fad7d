import Foundation

/// The shared CWMP RPC vectors (`../shared/specs/vectors/cwmp-rpc` next to the repository),
/// found from this file's path so the tests run from any working directory.
enum Fixtures {
    /// The vector directory. Symlinks are resolved first, so a scratch package that links this
    /// test directory still finds the repository's neighbour.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .resolvingSymlinksInPath()
        .deletingLastPathComponent() // CWMPCodecTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // repository
        .appendingPathComponent("../shared/specs/vectors/cwmp-rpc")
        .standardizedFileURL

    /// The `.xml` file names, sorted; empty when the directory is missing (the count test fails).
    static let names: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".xml") }.sorted()
    }()

    /// The bytes of one vector.
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

extension String {
    /// The string's UTF-8 bytes.
    var bytes: [UInt8] { Array(utf8) }
}

/// Wraps body XML in an envelope the way SimulaTR69 and GenieACS write them.
func envelope(_ body: String, header: String = "<cwmp:ID soapenv:mustUnderstand=\"1\">42</cwmp:ID>", namespace: String = "urn:dslforum-org:cwmp-1-0") -> [UInt8] {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cwmp="\(namespace)">
    <soapenv:Header>\(header)</soapenv:Header>
    <soapenv:Body>\(body)</soapenv:Body>
    </soapenv:Envelope>
    """.bytes
}
