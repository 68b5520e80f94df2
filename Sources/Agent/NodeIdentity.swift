import Glibc

/// The node's ID (a UUID), kept in `<data-dir>/node-id` as Consul does, so
/// a restarted agent is the same node.
public enum NodeIdentity {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Reads the stored ID, or makes one and stores it. Without a data
    /// directory the ID lives as long as the process.
    public static func load(dataDir: String?) throws(Failure) -> String {
        guard let dataDir else { return newUUID() }
        try makeDirectory(dataDir)
        let path = dataDir + "/node-id"
        if let existing = DataFile.read(path, limit: 4096) {
            let text = String(decoding: existing, as: UTF8.self).trimmingWhitespace()
            guard isUUID(text) else { throw Failure(description: "\(path): not a valid node ID: \"\(text.prefix(40))\"") }
            return text
        }
        let id = newUUID()
        do {
            try DataFile.writeAtomically(path, Array(id.utf8))
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
        return id
    }

    public static func makeDirectory(_ path: String) throws(Failure) {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o700) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create data directory \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    public static func newUUID() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    public static func isUUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [8, 4, 4, 4, 12] else { return false }
        return parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}

/// Small, whole-file reads and crash-safe writes (write, fsync, rename).
public enum DataFile {
    public static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while out.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out.count <= limit ? out : nil
    }

    public struct WriteError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(WriteError) {
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(description: "open \(temp): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(fd)
                throw WriteError(description: "write \(temp): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw WriteError(description: "fsync \(temp): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard rename(temp, path) == 0 else { throw WriteError(description: "rename \(temp): \(String(cString: strerror(errno)))") }
        // Make the rename itself durable.
        syncDirectory(of: path)
    }

    /// Makes a new or renamed entry of `path`'s directory durable.
    public static func syncDirectory(of path: String) {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}
