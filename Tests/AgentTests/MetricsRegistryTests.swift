@testable import Agent
@testable import CatalogCore
import Glibc
import Membership
import Sockets
import Testing

/// Intervals from cumulative readings: what an interval shows is what
/// happened inside it, and the agent's own tables stay bounded.
@Suite struct MetricsRegistryTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)

    @Test func anIntervalShowsWhatHappenedInsideIt() {
        var alive = 0
        var probes = TimingRing()
        let registry = MetricsRegistry(now: Self.t0)
        registry.addSource {
            [.counter(MetricKey("memberlist.msg.alive", [("network", "lan")]), count: alive, sum: Double(alive)),
             .gauge(MetricKey("memberlist.health.score"), 2),
             .timing(MetricKey("memberlist.probeNode"), probes)]
        }
        alive = 5
        probes.record(0.002)
        registry.rotate(now: Self.t0 + .seconds(10))
        alive = 8
        probes.record(0.004)
        probes.record(0.008)
        registry.increment(MetricKey("api.http.responses", [("code", "200")]))
        registry.increment(MetricKey("api.http.responses", [("code", "200")]))
        registry.rotate(now: Self.t0 + .seconds(20))
        let closed = try! #require(registry.closed)
        #expect(closed.length == .seconds(10))
        let counters = Dictionary(closed.counters.map { ($0.0.name, $0.1) }, uniquingKeysWith: { a, _ in a })
        #expect(counters["memberlist.msg.alive"]?.count == 3, "8 - 5 inside the interval")
        #expect(counters["memberlist.msg.alive"]?.sum == 3)
        #expect(counters["api.http.responses"]?.count == 2)
        let probe = try! #require(closed.samples.first { $0.0.name == "memberlist.probeNode" }?.1)
        #expect(probe.count == 2 && probe.min == 4 && probe.max == 8 && probe.mean == 6, "milliseconds: \(probe)")
        #expect(abs(probe.stddev - 2.8284271247) < 1e-6)
        #expect(closed.gauges.map(\.1) == [2])
        registry.rotate(now: Self.t0 + .seconds(30))
        #expect(registry.closed?.counters.isEmpty == true, "nothing happened in the third interval")
        #expect(registry.closed?.samples.isEmpty == true)
    }

    @Test func ownTablesAreBounded() {
        let registry = MetricsRegistry(now: Self.t0)
        for i in 0..<(MetricsRegistry.ownLimit + 500) {
            registry.increment(MetricKey("api.http.responses", [("code", "\(i)")]))
            registry.record(MetricKey("api.http", [("path", "\(i)")]), seconds: 0.001)
        }
        #expect(registry.readings().count == 2 * MetricsRegistry.ownLimit)
    }

    @Test func timingRingKeepsTheLatestAndCountsAll() {
        var ring = TimingRing()
        for i in 0..<300 { ring.record(Double(i)) }
        #expect(ring.total == 300)
        #expect(ring.sum == Double(299 * 300 / 2))
        #expect(ring.values(after: 295) == [295, 296, 297, 298, 299])
        #expect(ring.values(after: 0).count == TimingRing.capacity)
        #expect(ring.values(after: 0).first == Double(300 - TimingRing.capacity))
        #expect(ring.values(after: 300).isEmpty)
    }

    @Test func procStatParsesPastACommandNameWithSpacesAndParentheses() {
        var s = ProcessStats.Snapshot()
        let fields = (3...30).map { n in n == 20 ? "7" : n == 24 ? "100" : n == 23 ? "4096" : "1" }.joined(separator: " ")
        ProcessStats.parseStat(Array("42 (odd (name) x) \(fields)".utf8), into: &s)
        #expect(s.threads == 7)
        #expect(s.virtualBytes == 4096)
        #expect(s.residentBytes == 100 * Double(sysconfPageSize()))
    }
}

func sysconfPageSize() -> Int { Int(sysconf(Int32(_SC_PAGESIZE))) }
