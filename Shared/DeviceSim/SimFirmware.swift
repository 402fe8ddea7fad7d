import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// The firmware images simulated devices install: a header naming the version, padded to a
/// size. `FirmwareServer` serves them; devices fetch them over real HTTP, check size and
/// checksum, and boot into the version the header names.
public enum SimFirmware {
    static let magic = "TWINFLEET-FIRMWARE version="

    /// An image of `version`, `size` bytes long (at least the header).
    public static func image(version: String, size: Int = 4096) -> [UInt8] {
        var bytes = Array("\(magic)\(version)\n".utf8)
        var filler: UInt8 = 0
        while bytes.count < size {
            bytes.append(filler)
            filler &+= 31
        }
        return bytes
    }

    /// The version an image installs; nil for anything that is not an image.
    public static func version(of image: [UInt8]) -> String? {
        guard let newline = image.firstIndex(of: 0x0A), newline <= 200 else { return nil }
        let header = String(decoding: image[..<newline], as: UTF8.self)
        guard header.hasPrefix(magic) else { return nil }
        let version = String(header.dropFirst(magic.count))
        return version.isEmpty ? nil : version
    }

    /// The SHA-256 of an image, in lowercase hex.
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Why a transfer failed, with the CWMP fault code (TR-069 A.3.2.8) and the USP error
    /// (7022, Command failure: TR-369 has no transfer-specific codes).
    public struct FetchError: Error, CustomStringConvertible {
        public let cwmpFault: UInt32
        public let uspError: UInt32
        public let description: String
    }

    /// Fetches `url` (http or https), with Basic credentials when given.
    public static func fetch(_ url: String, username: String = "", password: String = "", client: HTTPClient, timeout: Duration) async throws -> [UInt8] {
        let response: HTTPClientResponse
        do {
            response = try await execute(fileServerRequest(url, username: username, password: password), client: client, timeout: timeout)
        } catch {
            throw FetchError(cwmpFault: 9015, uspError: 7022, description: "cannot contact the file server: \(error)")
        }
        switch response.status.code {
        case 200: break
        case 401, 403: throw FetchError(cwmpFault: 9012, uspError: 7022, description: "the file server refused the credentials (\(response.status.code))")
        default: throw FetchError(cwmpFault: 9016, uspError: 7022, description: "the file server answered \(response.status.code)")
        }
        do {
            return Array(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            throw FetchError(cwmpFault: 9017, uspError: 7022, description: "the download did not complete: \(error)")
        }
    }

    /// Sends `body` to `url` with an HTTP PUT (Basic credentials when given), as a CPE's Upload
    /// (TR-069 A.4.1.5) does; failures carry their CWMP fault (9011 failure, 9012 credentials
    /// refused).
    public static func upload(_ body: [UInt8], to url: String, contentType: String, username: String = "", password: String = "",
                              client: HTTPClient, timeout: Duration) async throws {
        var request = fileServerRequest(url, username: username, password: password)
        request.method = .PUT
        request.headers.add(name: "content-type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await execute(request, client: client, timeout: timeout)
        } catch {
            throw FetchError(cwmpFault: 9011, uspError: 7022, description: "cannot contact the file server: \(error)")
        }
        switch response.status.code {
        case 200..<300: return
        case 401, 403: throw FetchError(cwmpFault: 9012, uspError: 7022, description: "the file server refused the credentials (\(response.status.code))")
        default: throw FetchError(cwmpFault: 9011, uspError: 7022, description: "the file server answered \(response.status.code)")
        }
    }

    /// A request to a file server, with Basic credentials when given.
    private static func fileServerRequest(_ url: String, username: String, password: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        if !username.isEmpty {
            request.headers.add(name: "authorization", value: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        }
        return request
    }

    /// Runs `request` with a whole-second timeout (at least one second).
    private static func execute(_ request: HTTPClientRequest, client: HTTPClient, timeout: Duration) async throws -> HTTPClientResponse {
        try await client.execute(request, timeout: .seconds(max(1, timeout.components.seconds)))
    }

    /// A vendor configuration file: the root element's attributes, then one `<param>` per
    /// parameter (name order), with its type when known; everything XML-escaped.
    public static func configurationFile(attributes: [(String, String)], parameters: [(name: String, type: String?, value: String)]) -> [UInt8] {
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config"
        for (name, value) in attributes { text += " \(name)=\"\(escaped(value))\"" }
        text += ">\n"
        for parameter in parameters.sorted(by: { $0.name < $1.name }) {
            let type = parameter.type.map { " type=\"\($0)\"" } ?? ""
            text += "  <param name=\"\(escaped(parameter.name))\"\(type)>\(escaped(parameter.value))</param>\n"
        }
        return Array((text + "</config>\n").utf8)
    }
}
