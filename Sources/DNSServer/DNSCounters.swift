import Membership
import Synchronization

/// What the DNS thread counts for the agent's metrics: queries by the
/// answer's RCODE, those forwarded to recursors or other datacenters, and
/// the time spent per query (one measurement per UDP batch, spread over
/// its queries: two clock reads per batch, not per query). Atomics and one
/// mutex taken once per batch: read from the agent's loop at any time.
public final class DNSCounters: Sendable {
    public let queries = Atomic<Int>(0)
    public let noError = Atomic<Int>(0)
    public let nxDomain = Atomic<Int>(0)
    public let refused = Atomic<Int>(0)
    public let formErr = Atomic<Int>(0)
    public let servFail = Atomic<Int>(0)
    public let otherRcode = Atomic<Int>(0)
    public let forwarded = Atomic<Int>(0)
    public let dropped = Atomic<Int>(0)
    private let times = Mutex(TimingRing())

    public init() {}

    /// One batch's tallies, kept in locals on the hot path and added once.
    struct Tally {
        var queries = 0, noError = 0, nxDomain = 0, refused = 0, formErr = 0, servFail = 0, other = 0
        var forwarded = 0, dropped = 0

        mutating func reply(_ bytes: [UInt8]) {
            queries += 1
            switch bytes.count > 3 ? bytes[3] & 0x0f : 2 {
            case 0: noError += 1
            case 1: formErr += 1
            case 2: servFail += 1
            case 3: nxDomain += 1
            case 5: refused += 1
            default: other += 1
            }
        }
    }

    func add(_ t: Tally, seconds: Double?) {
        guard t.queries + t.forwarded + t.dropped > 0 else { return }
        queries.add(t.queries + t.forwarded, ordering: .relaxed)
        if t.noError > 0 { noError.add(t.noError, ordering: .relaxed) }
        if t.nxDomain > 0 { nxDomain.add(t.nxDomain, ordering: .relaxed) }
        if t.refused > 0 { refused.add(t.refused, ordering: .relaxed) }
        if t.formErr > 0 { formErr.add(t.formErr, ordering: .relaxed) }
        if t.servFail > 0 { servFail.add(t.servFail, ordering: .relaxed) }
        if t.other > 0 { otherRcode.add(t.other, ordering: .relaxed) }
        if t.forwarded > 0 { forwarded.add(t.forwarded, ordering: .relaxed) }
        if t.dropped > 0 { dropped.add(t.dropped, ordering: .relaxed) }
        if let seconds, t.queries > 0 {
            let each = seconds / Double(t.queries)
            times.withLock { $0.record(each, count: t.queries) }
        }
    }

    public var queryTimes: TimingRing { times.withLock { $0 } }
}
