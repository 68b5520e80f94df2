import Glibc
import Sockets

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
