import Glibc

/// A point on the monotonic clock, in nanoseconds. The protocol layers take
/// it as an input; only shells read the real clock.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Instant, d: Duration) -> Instant {
        let n = d.nanoseconds
        return Instant(nanoseconds: n >= 0 ? a.nanoseconds &+ UInt64(n) : a.nanoseconds &- min(a.nanoseconds, UInt64(-n)))
    }
    public static func - (a: Instant, b: Instant) -> Duration {
        a >= b ? .nanoseconds(Int64(a.nanoseconds - b.nanoseconds)) : .nanoseconds(-Int64(b.nanoseconds - a.nanoseconds))
    }
    public static var zero: Instant { Instant(nanoseconds: 0) }
    public var description: String { "\(Double(nanoseconds) / 1e9)s" }

    public static func monotonicNow() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), for arithmetic on `Instant`.
    public var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? Int64.min : Int64.max }
        return ns &+ atto / 1_000_000_000
    }
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public static func * (d: Duration, factor: Double) -> Duration {
        .nanoseconds(Int64(Double(d.nanoseconds) * factor))
    }
}
