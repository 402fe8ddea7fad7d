#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files with POSIX calls, which keeps this module free of Foundation.
enum FileBytes {
    /// The contents of the file at `path`.
    static func contents(of path: String) throws(SchemaLoadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw SchemaLoadError(.unreadableFile, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw SchemaLoadError(.unreadableFile, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SchemaLoadError(.unreadableFile, "\(path) is not a regular file")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw SchemaLoadError(.unreadableFile, "cannot read \(path): \(count == 0 ? "file shrank while reading" : String(cString: strerror(errno)))")
            }
            filled += count
        }
        return bytes
    }
}
