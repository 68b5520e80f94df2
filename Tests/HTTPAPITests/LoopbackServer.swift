import Glibc
import HTTPAPI
import Synchronization

/// A one-connection HTTP server on a loopback address and an ephemeral port,
/// running on its own pthread (never on the cooperative pool, since it
/// blocks). It parses one request, records it, then runs `respond`.
final class LoopbackServer: Sendable {
    let port: UInt16
    private let listener: Int32
    private let thread = Mutex<pthread_t?>(nil)
    private let captured = Mutex<HTTPRequest?>(nil)

    /// nil when the address family is unavailable here (e.g. no IPv6).
    init?(ipv6: Bool = false, respond: @escaping @Sendable (_ connection: Int32) -> Void) {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        guard let port = Self.bindEphemeral(fd, ipv6: ipv6), listen(fd, 4) == 0 else {
            close(fd)
            return nil
        }
        // Bound the wait in accept() so a failed test cannot hang the join.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.port = port
        self.listener = fd
        let handle = spawnThread { [self] in self.serveOne(respond) }
        thread.withLock { $0 = handle }
    }

    /// The request the server received, after `join()`.
    var request: HTTPRequest? { captured.withLock { $0 } }

    func join() {
        if let handle = thread.withLock({ $0 }) { pthread_join(handle, nil) }
        close(listener)
    }

    private func serveOne(_ respond: @Sendable (Int32) -> Void) {
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return }
        defer { close(connection) }
        var parser = HTTPRequestParser()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let request = try? parser.next() {
                captured.withLock { $0 = request }
                break
            }
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            parser.append(Array(chunk[..<count]))
        }
        respond(connection)
    }

    private static func bindEphemeral(_ fd: Int32, ipv6: Bool) -> UInt16? {
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let ok = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            return ok ? UInt16(bigEndian: address.sin6_port) : nil
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return ok ? UInt16(bigEndian: address.sin_port) : nil
    }
}

/// Writes all of `text` to a socket (test helper; errors end the write).
func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        guard sent > 0 else { return }
        offset += sent
    }
}

/// Blocks until the peer closes (or 10 s pass).
func waitForPeerClose(_ fd: Int32) {
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var byte: UInt8 = 0
    while recv(fd, &byte, 1, 0) > 0 {}
}

private final class ThreadWork: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

func spawnThread(_ work: @escaping @Sendable () -> Void) -> pthread_t? {
    let context = Unmanaged.passRetained(ThreadWork(work)).toOpaque()
    var handle = pthread_t()
    let status = pthread_create(&handle, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadWork>.fromOpaque(raw).takeRetainedValue().run()
        return nil
    }, context)
    guard status == 0 else {
        Unmanaged<ThreadWork>.fromOpaque(context).release()
        return nil
    }
    return handle
}
