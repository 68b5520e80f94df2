import CSystem
import Glibc

public struct SocketError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let errno: Int32
    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }
    public var description: String {
        "\(operation): \(String(cString: strerror(errno)))"
    }
    public var wouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}

/// A thin owner of one non-blocking file descriptor. Closing is explicit:
/// the event loop decides when a descriptor's life ends.
public struct Socket: Sendable, Hashable {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    public static func udp(family: Int32) throws(SocketError) -> Socket {
        try make(family: family, type: Int32(SOCK_DGRAM.rawValue))
    }

    public static func tcp(family: Int32) throws(SocketError) -> Socket {
        try make(family: family, type: Int32(SOCK_STREAM.rawValue))
    }

    private static func make(family: Int32, type: Int32) throws(SocketError) -> Socket {
        let fd = Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        return Socket(fd: fd)
    }

    public func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    public func bind(_ endpoint: Endpoint) throws(SocketError) {
        setOption(SOL_SOCKET, SO_REUSEADDR, 1)
        if !endpoint.isIPv4 { setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
        let rc = endpoint.withSockAddr { Glibc.bind(fd, $0, $1) }
        guard rc == 0 else { throw SocketError("bind \(endpoint)") }
    }

    public func listen(backlog: Int32 = 1024) throws(SocketError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw SocketError("listen") }
    }

    /// The bound address (useful after binding port 0).
    public func localEndpoint() -> Endpoint? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        return withUnsafePointer(to: &storage) { Endpoint(storage: $0) }
    }

    /// Accepts one pending connection; nil when none is pending.
    public func accept() throws(SocketError) -> (Socket, Endpoint?)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                csystem_accept4(fd, $0, &len)
            }
        }
        if client < 0 {
            let err = SocketError("accept")
            if err.wouldBlock || errno == EINTR || errno == ECONNABORTED { return nil }
            throw err
        }
        let peer = withUnsafePointer(to: &storage) { Endpoint(storage: $0) }
        return (Socket(fd: client), peer)
    }

    /// Starts a non-blocking connect; completion is signalled by writability.
    public func startConnect(to endpoint: Endpoint) throws(SocketError) {
        let rc = endpoint.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS { throw SocketError("connect \(endpoint)") }
    }

    /// The pending error of a socket (the outcome of a non-blocking connect).
    public func pendingError() -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len)
        return value
    }

    public func sendTo(_ bytes: UnsafeRawBufferPointer, _ endpoint: Endpoint) -> Bool {
        let n = endpoint.withSockAddr { addr, len in
            Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), addr, len)
        }
        return n == bytes.count
    }

    /// Receives one datagram into `buffer`; nil when nothing is pending.
    public func receiveFrom(_ buffer: UnsafeMutableRawBufferPointer) -> (Int, Endpoint?)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &len)
            }
        }
        guard n >= 0 else { return nil }
        return (n, withUnsafePointer(to: &storage) { Endpoint(storage: $0) })
    }

    /// Reads available bytes. 0 means the peer closed; nil means would block.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        let n = Glibc.recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if n < 0 {
            let err = SocketError("recv")
            if err.wouldBlock || err.errno == EINTR { return nil }
            throw err
        }
        return n
    }

    /// Writes what the kernel takes now; nil means would block.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        if n < 0 {
            let err = SocketError("send")
            if err.wouldBlock || err.errno == EINTR { return nil }
            throw err
        }
        return n
    }

    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    public func close() { _ = Glibc.close(fd) }
}

public enum AddressFamily {
    public static func of(_ endpoint: Endpoint) -> Int32 { endpoint.isIPv4 ? AF_INET : AF_INET6 }
}
