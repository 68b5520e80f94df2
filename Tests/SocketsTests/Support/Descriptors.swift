import Glibc

/// Open file descriptors of this process (entries of /proc/self/fd, less
/// the one the listing itself uses).
func openDescriptorCount() -> Int {
    descriptorTargets().count
}

/// Descriptors of this process that are TCP sockets with `ports` as their
/// local or remote port (found through /proc/net/tcp). Unlike the plain
/// count, other suites running in parallel do not disturb it.
func socketDescriptorCount(ports: Set<UInt16>) -> Int {
    let inodes = tcpSocketInodes(ports: ports)
    return descriptorTargets().filter { target in
        guard target.hasPrefix("socket:["), target.hasSuffix("]") else { return false }
        return UInt64(target.dropFirst(8).dropLast()).map(inodes.contains) ?? false
    }.count
}

/// readlink of every entry of /proc/self/fd ("socket:[1234]", "/dev/null"…).
private func descriptorTargets() -> [String] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    defer { closedir(dir) }
    let own = dirfd(dir)
    var targets: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let fd = Int32(name), fd != own else { continue }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { readlink("/proc/self/fd/\(name)", $0.baseAddress!, $0.count) }
        }
        targets.append(n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : "?")
    }
    return targets
}

/// Inodes of the IPv4 TCP sockets (any process, any state) whose local or
/// remote port is in `ports`.
private func tcpSocketInodes(ports: Set<UInt16>) -> Set<UInt64> {
    var inodes = Set<UInt64>()
    for line in readFile("/proc/net/tcp").split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        guard fields.count > 9 else { continue }
        let local = fields[1].split(separator: ":").last.flatMap { UInt16($0, radix: 16) }
        let remote = fields[2].split(separator: ":").last.flatMap { UInt16($0, radix: 16) }
        guard let local, let remote, ports.contains(local) || ports.contains(remote),
              let inode = UInt64(fields[9]), inode != 0 else { continue }
        inodes.insert(inode)
    }
    return inodes
}

private func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
