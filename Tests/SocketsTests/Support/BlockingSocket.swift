import Glibc
import Sockets

/// A plain blocking TCP socket on 127.0.0.1 for the test's side of a relay
/// (a client, or an upstream server's accepted connection). Every call
/// gives up after `timeout` seconds (SO_RCVTIMEO/SO_SNDTIMEO), so a broken
/// relay fails a test instead of hanging it.
struct BlockingSocket: Sendable {
    let fd: Int32
    static let timeout = 30

    init(fd: Int32) {
        self.fd = fd
        var tv = timeval(tv_sec: Self.timeout, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func connect(port: UInt16) -> BlockingSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            return nil
        }
        return BlockingSocket(fd: fd)
    }

    /// Writes all of `bytes`; false on an error (or a send timeout).
    func sendAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    func sendAll(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { sendAll($0) } }

    /// One recv: > 0 bytes, 0 at EOF, -errno on an error (-EAGAIN: timed out).
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno != EINTR { return -Int(errno) }
        }
    }

    /// Reads exactly `count` bytes; nil on EOF, an error or a timeout first.
    func receiveExactly(_ count: Int) -> [UInt8]? {
        var result = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = result.withUnsafeMutableBytes { receive(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            if n <= 0 { return nil }
            got += n
        }
        return result
    }

    /// Reads until EOF; nil on an error, a timeout or more than `limit` bytes.
    func receiveAll(limit: Int = 64 << 20) -> [UInt8]? {
        var result: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = receive(into: buffer)
            if n == 0 { return result }
            if n < 0 || result.count + n > limit { return nil }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Waits for the peer to go away: `.eof`, `.reset`, or `.other(errno)`
    /// (EAGAIN: nothing happened within the timeout). Bytes are skipped.
    enum Ending: Equatable, Sendable { case eof, reset, other(Int32) }
    func awaitEnd() -> Ending {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = receive(into: buffer)
            if n > 0 { continue }
            if n == 0 { return .eof }
            return -n == Int(ECONNRESET) ? .reset : .other(Int32(-n))
        }
    }

    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// Closes with a reset (SO_LINGER 0).
    func reset() {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    func close() { Glibc.close(fd) }
}

/// A blocking listener on 127.0.0.1, port chosen by the kernel: the
/// upstream server behind a relay.
struct BlockingListener: Sendable {
    let fd: Int32
    let port: UInt16

    init?() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1024) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            Glibc.close(fd)
            return nil
        }
        // Accept gives up after the timeout too (SO_RCVTIMEO applies).
        var tv = timeval(tv_sec: BlockingSocket.timeout, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    func accept() -> BlockingSocket? {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 { return BlockingSocket(fd: client) }
            if errno != EINTR { return nil }
        }
    }

    func close() { Glibc.close(fd) }
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
func unusedPort() -> UInt16? {
    guard let listener = BlockingListener() else { return nil }
    listener.close()
    return listener.port
}

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
