import Glibc
import JSON
import Testing

/// Host helpers of the namespace lab (programs, files, address blocks).
extension NetnsLab {

    /// The first two octets of the first candidate block that no address or
    /// route of the host overlaps.
    static func pickBlock(ip: String, harness h: Harness) throws -> String {
        let text = capture(ip, ["-o", "-4", "addr"]).stdout + "\n" + capture(ip, ["-4", "route", "show", "table", "all"]).stdout
        let used = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\\" }).compactMap { prefix(String($0)) }
        for (a, b) in candidateBlocks {
            let base = UInt32(a) << 24 | UInt32(b) << 16
            let overlaps = used.contains { address, length in
                let bits = min(length, 16)
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                return address & mask == base & mask
            }
            if !overlaps { return "\(a).\(b)" }
        }
        throw h.fail("every candidate address block \(candidateBlocks.map { "\($0.0).\($0.1).0.0/16" }) is used on this host:\n\(text)")
    }

    /// "a.b.c.d" or "a.b.c.d/len" (len >= 8) as (address, length).
    static func prefix(_ token: String) -> (UInt32, Int)? {
        let parts = token.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) ?? -1 : 32
        guard (8...32).contains(length) else { return nil }
        return (octets.reduce(0) { $0 << 8 | $1 }, length)
    }

    static let curlPath = findProgram("curl")

    /// The program's path: PATH first, then the usual directories.
    static func findProgram(_ name: String) -> String? {
        var directories: [String] = []
        if let value = getenv("PATH") {
            directories = String(cString: value).split(separator: ":").map(String.init)
        }
        directories += ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/bin"]
        return directories.lazy.map { $0 + "/" + name }.first { FileIO.isExecutable($0) }
    }

    /// Runs a command to completion without a harness (no failure is
    /// recorded); output captured through temp files.
    static func capture(_ program: String, _ arguments: [String], timeout: Double = 30) -> CommandResult {
        guard let out = tempFile(), let err = tempFile() else {
            return CommandResult(status: .exited(-1), stdout: "", stderr: "mkstemp failed")
        }
        defer {
            unlink(out)
            unlink(err)
        }
        guard let pid = try? Spawn.start(program, arguments, environment: Spawn.environment(), stdoutPath: out, stderrPath: err) else {
            return CommandResult(status: .exited(-1), stdout: "", stderr: "could not start \(program)")
        }
        let status = Spawn.wait(pid, timeout: timeout) ?? Spawn.stop(pid, graceful: false)
        return CommandResult(status: status, stdout: FileIO.readText(out), stderr: FileIO.readText(err))
    }

    static func tempFile() -> String? {
        var template = Array("/tmp/fedagent-netns-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress else { return nil }
            let fd = mkstemp(base)
            guard fd >= 0 else { return nil }
            close(fd)
            return String(cString: base)
        }
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// (device, inode) of what `path` points at; for /proc/<pid>/ns/net and
    /// a /var/run/netns entry, equal iff they are the same namespace.
    static func fileID(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
