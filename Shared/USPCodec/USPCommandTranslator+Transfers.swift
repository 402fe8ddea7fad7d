import BusContracts

/// Download and Upload: CWMP file types to TR-181 USP commands and their input arguments.
///
/// CWMP's `DelaySeconds` has no USP argument and is not sent (delay a command with its
/// `not_before_us` instead); `TargetFileName` exists only for `VendorConfigFile.{i}.Restore()`.
/// A `file_size` above 4 GiB − 1 is left out, since `FileSize` is an unsignedInt.
extension USPCommandTranslator {
    /// What a CWMP file type asks for.
    enum FileKind: Equatable {
        case firmware
        case vendorConfiguration(instance: UInt32?)
        case vendorLog(instance: UInt32?)
    }

    /// Reads a CWMP file type (`1 Firmware Upgrade Image`, `3 Vendor Configuration File 2`, …);
    /// nil for one USP has no command for.
    static func fileKind(_ text: String, upload: Bool) -> FileKind? {
        let words = text.split(separator: " ")
        let name = words.dropFirst().joined(separator: " ")
        // `3 Vendor Configuration File 2`, `4 Vendor Log File 2`: the fifth word is the instance.
        let instance = words.count == 5 ? UInt32(words[4]).flatMap { $0 > 0 ? $0 : nil } : nil
        switch (upload, words.first) {
        case (false, nil): return .firmware
        case (false, "1") where name == "Firmware Upgrade Image": return .firmware
        case (false, "3") where name == "Vendor Configuration File": return .vendorConfiguration(instance: nil)
        case (true, "1") where name == "Vendor Configuration File": return .vendorConfiguration(instance: nil)
        case (true, "2") where name == "Vendor Log File": return .vendorLog(instance: nil)
        case (true, "3") where name.hasPrefix("Vendor Configuration File "):
            return instance.map { .vendorConfiguration(instance: $0) }
        case (true, "4") where name.hasPrefix("Vendor Log File "):
            return instance.map { .vendorLog(instance: $0) }
        default: return nil
        }
    }

    /// The Operate path and input arguments of a Download.
    static func downloadOperation(_ download: Twinfleet_Bus_V1_Download, options: USPRequestOptions, commandID: String) throws(USPCommandError) -> (String, [String: String]) {
        guard !download.url.isEmpty else { throw USPCommandError(.invalidCommand, "Download without a URL", commandID: commandID) }
        guard let kind = fileKind(download.fileType, upload: false) else {
            throw USPCommandError(.notSupported, "Download of file type \(quoted(download.fileType)) has no USP command (supported: 1 Firmware Upgrade Image, 3 Vendor Configuration File)", commandID: commandID)
        }
        var arguments = ["URL": download.url]
        if download.fileSize > 0, download.fileSize <= UInt64(UInt32.max) {
            arguments["FileSize"] = String(download.fileSize)
        }
        if !download.sha256.isEmpty {
            let digest = download.sha256.lowercased()
            guard digest.utf8.count == 64, digest.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }) else {
                throw USPCommandError(.invalidCommand, "Download.sha256 is not 64 hexadecimal digits", commandID: commandID)
            }
            arguments["CheckSumAlgorithm"] = "SHA-256"
            arguments["CheckSum"] = digest
        }
        switch kind {
        case .firmware:
            arguments["AutoActivate"] = options.autoActivateFirmware ? "true" : "false"
            // Optional arguments of FirmwareImage.{i}.Download(): sent only when set.
            if !download.username.isEmpty { arguments["Username"] = download.username }
            if !download.password.isEmpty { arguments["Password"] = download.password }
            return ("Device.DeviceInfo.FirmwareImage.\(options.firmwareImageInstance).Download()", arguments)
        case .vendorConfiguration(let instance):
            // Username and Password are mandatory arguments of Restore(): empty means none.
            arguments["Username"] = download.username
            arguments["Password"] = download.password
            if !download.targetFileName.isEmpty { arguments["TargetFileName"] = download.targetFileName }
            return ("Device.DeviceInfo.VendorConfigFile.\(instance ?? options.vendorConfigFileInstance).Restore()", arguments)
        case .vendorLog:
            throw USPCommandError(.notSupported, "Download of a log file is not possible", commandID: commandID)
        }
    }

    /// The Operate path and input arguments of an Upload.
    static func uploadOperation(_ upload: Twinfleet_Bus_V1_Upload, options: USPRequestOptions, commandID: String) throws(USPCommandError) -> (String, [String: String]) {
        guard !upload.url.isEmpty else { throw USPCommandError(.invalidCommand, "Upload without a URL", commandID: commandID) }
        // URL, Username and Password are all mandatory arguments of Backup() and Upload().
        let arguments = ["URL": upload.url, "Username": upload.username, "Password": upload.password]
        switch fileKind(upload.fileType, upload: true) {
        case .vendorConfiguration(let instance)?:
            return ("Device.DeviceInfo.VendorConfigFile.\(instance ?? options.vendorConfigFileInstance).Backup()", arguments)
        case .vendorLog(let instance)?:
            return ("Device.DeviceInfo.VendorLogFile.\(instance ?? options.vendorLogFileInstance).Upload()", arguments)
        case .firmware?, nil:
            throw USPCommandError(.notSupported, "Upload of file type \(quoted(upload.fileType)) has no USP command (supported: 1/3 Vendor Configuration File, 2/4 Vendor Log File)", commandID: commandID)
        }
    }
}
