import ArgumentParser
import Foundation
import HTTPAuth

/// Prints the password a CPE must use with `CWMP_CREDENTIALS=derived` (for provisioning).
struct CPEPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpe-password", abstract: "Print a CPE's derived ACS password (reads CWMP_CREDENTIAL_SECRET).")

    @Argument(help: "The CPE's username (e.g. its serial number).") var username: String

    func run() async throws {
        guard let secret = ProcessInfo.processInfo.environment["CWMP_CREDENTIAL_SECRET"], !secret.isEmpty else {
            throw ValidationError("set CWMP_CREDENTIAL_SECRET")
        }
        print(try DerivedCredentials(secret: Array(secret.utf8)).password(for: username))
    }
}
