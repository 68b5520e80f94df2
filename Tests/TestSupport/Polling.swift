import Glibc
import Sockets
import Synchronization

/// Tests poll for a condition with a generous deadline instead of sleeping
/// a fixed time (the machines are shared and noisy).
public func waitUntil(_ seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = Instant.monotonicNow() + .seconds(seconds)
    while Instant.monotonicNow() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

public extension EventLoop {
    /// Runs `work` on the loop's thread and waits (up to 20 s) for its result.
    func sync<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T? {
        let result = Mutex<T?>(nil)
        execute { let value = work(); result.withLock { $0 = value } }
        _ = waitUntil { result.withLock { $0 != nil } }
        return result.withLock { $0 }
    }
}

/// A blocking TCP connection to `ip:port` (IPv4), with a receive timeout;
/// -1 if it cannot be made. The caller closes it.
public func connectTCP(_ ip: String, _ port: UInt16, receiveTimeout seconds: Int = 30) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    inet_pton(AF_INET, ip, &address.sin_addr)
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { close(fd); return -1 }
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}
