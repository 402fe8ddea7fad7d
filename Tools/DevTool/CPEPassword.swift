import ArgumentParser
import Foundation
import HTTPAuth

/// Prints the password a CPE must use with `CWMP_CREDENTIALS=derived`, or (`--connection-request`)
/// the one it must expect with `CWMP_CR_CREDENTIAL_SECRET` (for provisioning).
struct CPEPassword: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpe-password",
        abstract: "Print a CPE's derived ACS password (reads CWMP_CREDENTIAL_SECRET) or connection-request password (CWMP_CR_CREDENTIAL_SECRET).")

    @Argument(help: "The CPE's username (e.g. its serial number; for connection requests its device ID).") var username: String
    @Flag(help: "The connection-request password (from CWMP_CR_CREDENTIAL_SECRET).") var connectionRequest = false

    func run() async throws {
        let variable = connectionRequest ? "CWMP_CR_CREDENTIAL_SECRET" : "CWMP_CREDENTIAL_SECRET"
        guard let secret = ProcessInfo.processInfo.environment[variable], !secret.isEmpty else {
            throw ValidationError("set \(variable)")
        }
        print(try DerivedCredentials(secret: Array(secret.utf8)).password(for: username))
    }
}
