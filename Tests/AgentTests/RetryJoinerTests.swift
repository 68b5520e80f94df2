// -retry-join after the first join: the joiner keeps watching and joins
// again (resolving the names anew) when the agent has lost its pool, as a
// client does when every server pod comes back at a new address.

@testable import Agent
@testable import CatalogCore
import Sockets
import Synchronization
import TestSupport
import Testing

@Suite("Retry-join")
struct RetryJoinerTests {
    final class Probe: Sendable {
        let attempts = Atomic<Int>(0)
        let isolated = Atomic<Bool>(false)
        let joinSucceeds = Atomic<Bool>(true)
        /// 127.0.0.1 is an alive member of the pool.
        let seedAlive = Atomic<Bool>(false)
    }

    static func start(_ probe: Probe, on loop: EventLoop) -> UncheckedBox<RetryJoiner> {
        let joiner = RetryJoiner(addresses: ["127.0.0.1"], defaultPort: 8301, loop: loop, watchInterval: .milliseconds(20),
                                 isolated: { probe.isolated.load(ordering: .relaxed) },
                                 alive: { _ in probe.seedAlive.load(ordering: .relaxed) }) { endpoints, done in
            probe.attempts.add(1, ordering: .relaxed)
            done(endpoints == [Endpoint(ipv4: 127, 0, 0, 1, port: 8301)] && probe.joinSucceeds.load(ordering: .relaxed))
        }
        let box = UncheckedBox(joiner)
        loop.execute { box.value.start() }
        return box
    }

    /// True when no attempt beyond `n` is made for half a second (many watch periods).
    static func staysAt(_ probe: Probe, _ n: Int) -> Bool {
        _ = waitUntil(0.5) { probe.attempts.load(ordering: .relaxed) > n }
        return probe.attempts.load(ordering: .relaxed) == n
    }

    @Test("joined, it does not join again while the pool is alive; isolated, it joins again; stopped, never")
    func rejoinsWhenIsolated() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let probe = Probe()
        let joiner = Self.start(probe, on: loop)
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) == 1 })
        // Many watch periods with the pool alive: still the one join.
        #expect(Self.staysAt(probe, 1))

        probe.isolated.store(true, ordering: .relaxed)
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) >= 2 })
        probe.isolated.store(false, ordering: .relaxed)
        let rejoined = probe.attempts.load(ordering: .relaxed)
        #expect(Self.staysAt(probe, rejoined), "after joining again it goes back to watching")

        loop.execute { joiner.value.stop() }
        let stoppedAt = probe.attempts.load(ordering: .relaxed)
        probe.isolated.store(true, ordering: .relaxed)
        #expect(Self.staysAt(probe, stoppedAt), "a stopped joiner (the agent leaving) never joins")
    }

    @Test("isolated, it does not join again addresses that are alive members (a pool without servers), and does once they are not")
    func skipsAliveAddresses() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let probe = Probe()
        probe.seedAlive.store(true, ordering: .relaxed)
        let joiner = Self.start(probe, on: loop)
        defer { loop.execute { joiner.value.stop() } }
        // The first join uses every address, alive member or not.
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) == 1 })
        probe.isolated.store(true, ordering: .relaxed)
        #expect(Self.staysAt(probe, 1), "the seed is an alive member: nothing to join")
        probe.seedAlive.store(false, ordering: .relaxed)
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) >= 2 }, "the seed's address is no alive member any more: joined")
    }

    @Test("a failed join is retried with backoff until one succeeds, then watched")
    func retriesUntilJoined() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let probe = Probe()
        probe.joinSucceeds.store(false, ordering: .relaxed)
        let joiner = Self.start(probe, on: loop)
        defer { loop.execute { joiner.value.stop() } }
        // The first retry comes after 1 s of backoff.
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) >= 2 })
        probe.joinSucceeds.store(true, ordering: .relaxed)
        #expect(waitUntil { probe.attempts.load(ordering: .relaxed) >= 3 })
        let joined = probe.attempts.load(ordering: .relaxed)
        #expect(Self.staysAt(probe, joined))
    }
}
