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
