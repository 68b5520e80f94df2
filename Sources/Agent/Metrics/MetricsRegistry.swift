import Membership
import Sockets

/// A metric's name (go-metrics' dotted form, without the `consul`
/// prefix: "memberlist.msg.alive") and labels.
public struct MetricKey: Hashable, Sendable, Comparable {
    public var name: String
    public var labels: [Label]

    public struct Label: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    /// A name of Prometheus' own conventions (`process_open_fds`), shown
    /// as it is: no prefix, no hostname.
    public var standard = false

    public init(_ name: String, _ labels: [(String, String)] = [], standard: Bool = false) {
        self.name = name
        self.labels = labels.map { Label($0.0, $0.1) }
        self.standard = standard
    }

    public static func < (a: MetricKey, b: MetricKey) -> Bool {
        a.name != b.name ? a.name < b.name
            : a.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") < b.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }
}

/// One reading at scrape time: counters and timings are cumulative (the
/// registry takes differences for intervals), gauges are current.
public enum MetricReading: Sendable {
    case counter(MetricKey, count: Int, sum: Double)
    case gauge(MetricKey, Double)
    /// Values in seconds (shown in milliseconds, as go-metrics' timers).
    case timing(MetricKey, TimingRing)

    /// A counter of `n` events; `sum` when each adds more than one (bytes).
    public static func count(_ name: String, _ n: Int, sum: Int? = nil, labels: [(String, String)] = []) -> MetricReading {
        .counter(MetricKey(name, labels), count: n, sum: Double(sum ?? n))
    }
}

/// go-metrics' aggregate of one interval: `Count`, `Sum`, `Min`, `Max`,
/// `Mean`, `Stddev` (and `Rate`, the sum per second of the interval).
public struct MetricAggregate: Sendable, Equatable {
    public var count = 0
    public var sum = 0.0
    public var min = 0.0
    public var max = 0.0
    var sumOfSquares = 0.0

    public init() {}

    public init(values: [Double]) {
        for v in values { add(v) }
    }

    public mutating func add(_ v: Double) {
        min = count == 0 ? v : Swift.min(min, v)
        max = count == 0 ? v : Swift.max(max, v)
        count += 1
        sum += v
        sumOfSquares += v * v
    }

    public var mean: Double { count == 0 ? 0 : sum / Double(count) }
    public var stddev: Double {
        guard count > 1 else { return 0 }
        let variance = (sumOfSquares - sum * sum / Double(count)) / Double(count - 1)
        return variance > 0 ? variance.squareRoot() : 0
    }
}

/// The metrics of one agent: sources read when asked (the gossip pools'
/// counters, the process, DNS's counters) and what the agent counts
/// itself (HTTP requests). Every `interval` the registry closes an
/// interval: `/v1/agent/metrics` shows the last closed one, as Consul's
/// in-memory sink does; Prometheus output shows running totals.
/// Loop-confined; the clock is injected.
public final class MetricsRegistry {
    public static let interval: Duration = .seconds(10)

    public struct Interval: Sendable {
        public var start: Instant
        public var length: Duration
        public var gauges: [(MetricKey, Double)] = []
        public var counters: [(MetricKey, MetricAggregate)] = []
        public var samples: [(MetricKey, MetricAggregate)] = []
    }

    private var sources: [() -> [MetricReading]] = []
    private var ownCounters: [MetricKey: (count: Int, sum: Double)] = [:]
    private var ownTimings: [MetricKey: TimingRing] = [:]
    /// Cumulative values at the start of the open interval.
    private var boundary: (at: Instant, counters: [MetricKey: (count: Int, sum: Double)], timings: [MetricKey: Int])
    /// The last closed interval.
    public private(set) var closed: Interval?
    /// Own counters and timings are bounded: routes and codes are few,
    /// but a flood of odd paths must not grow the table without end.
    static let ownLimit = 2048

    public init(now: Instant) { boundary = (now, [:], [:]) }

    public func addSource(_ source: @escaping () -> [MetricReading]) { sources.append(source) }

    public func increment(_ key: MetricKey, by value: Double = 1) {
        guard ownCounters[key] != nil || ownCounters.count < Self.ownLimit else { return }
        let c = ownCounters[key] ?? (0, 0)
        ownCounters[key] = (c.count + 1, c.sum + value)
    }

    public func record(_ key: MetricKey, seconds: Double) {
        guard ownTimings[key] != nil || ownTimings.count < Self.ownLimit else { return }
        ownTimings[key, default: TimingRing()].record(seconds)
    }

    /// Everything, now.
    public func readings() -> [MetricReading] {
        var all = sources.flatMap { $0() }
        for (key, c) in ownCounters { all.append(.counter(key, count: c.count, sum: c.sum)) }
        for (key, ring) in ownTimings { all.append(.timing(key, ring)) }
        return all
    }

    /// Closes the open interval at `now` (a loop timer calls this every `interval`).
    public func rotate(now: Instant) {
        let (interval, counters, timings) = summarize(now: now)
        closed = interval
        boundary = (now, counters, timings)
    }

    /// The open interval so far (shown before the first one closes).
    public func openInterval(now: Instant) -> Interval { summarize(now: now).interval }

    private func summarize(now: Instant) -> (interval: Interval, counters: [MetricKey: (count: Int, sum: Double)], timings: [MetricKey: Int]) {
        var interval = Interval(start: boundary.at, length: now - boundary.at)
        var counters: [MetricKey: (count: Int, sum: Double)] = [:]
        var timings: [MetricKey: Int] = [:]
        for reading in readings() {
            switch reading {
            case .gauge(let key, let value):
                interval.gauges.append((key, value))
            case .counter(let key, let count, let sum):
                counters[key] = (count, sum)
                let before = boundary.counters[key] ?? (0, 0)
                let n = count - before.count, total = sum - before.sum
                guard n > 0 else { continue }
                // Increments of one are exact; for byte counts only the mean is known.
                var a = MetricAggregate()
                a.count = n
                a.sum = total
                a.min = total / Double(n)
                a.max = a.min
                a.sumOfSquares = a.min * a.min * Double(n)
                interval.counters.append((key, a))
            case .timing(let key, let ring):
                timings[key] = ring.total
                let fresh = ring.values(after: boundary.timings[key] ?? 0)
                guard !fresh.isEmpty else { continue }
                interval.samples.append((key, MetricAggregate(values: fresh.map { $0 * 1000 })))
            }
        }
        interval.gauges.sort { $0.0 < $1.0 }
        interval.counters.sort { $0.0 < $1.0 }
        interval.samples.sort { $0.0 < $1.0 }
        return (interval, counters, timings)
    }
}
