#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File checks and scratch files without Foundation.
enum FileProbe {
    /// True when `path` can be opened for reading.
    static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// A new empty directory under /tmp.
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/datamodel-tests-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard let path = mkdtemp(buffer.baseAddress!) else { fatalError("mkdtemp failed") }
            return String(cString: path)
        }
    }

    /// Removes the named files and then the (now empty) directory.
    static func remove(directory: String, files: [String]) {
        for name in files { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// Writes `text` to `path`, replacing it.
    static func write(_ text: String, to path: String) {
        guard let file = fopen(path, "w") else { fatalError("cannot create \(path)") }
        fputs(text, file)
        fclose(file)
    }
}

/// The process's resident memory, from Linux's /proc (0 elsewhere). Freed file buffers stay
/// in the allocator's arenas, so growth over a load is an upper bound on what the schema keeps.
enum MemoryProbe {
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
