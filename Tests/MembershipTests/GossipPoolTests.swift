import Glibc
import Membership
import Sockets
import Synchronization
import TestSupport
import Testing

/// The I/O shell on real loopback sockets: two pools on one event loop.
@Suite struct GossipPoolTests {
    /// Holds loop-confined objects; only touched from the loop thread.
    final class Box: @unchecked Sendable {
        var pools: [GossipPool] = []
    }

    @Test func joinAnswersWithTheSeedStateAndBothSeeEachOther() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let outcome = Mutex<(ok: Int, errors: [String])?>(nil)
        let views = Mutex<[Int]>([])
        let started = Mutex<String?>(nil)
        loop.execute {
            // Two free ports on addresses no other test uses.
            for octet in UInt8(1)...60 where box.pools.count < 2 {
                guard let bind = Endpoint(ip: "127.0.61.\(octet)", port: 18301) else { continue }
                if let pool = try? GossipPool(label: "lan", name: "p\(box.pools.count)", bind: bind, advertise: bind,
                                              meta: [], settings: .local, loop: loop) {
                    box.pools.append(pool)
                }
            }
            guard box.pools.count == 2 else { return started.withLock { $0 = "no free loopback ports" } }
            started.withLock { $0 = "ok" }
            box.pools[1].join([box.pools[0].instance.address]) { ok, errors in
                outcome.withLock { $0 = (ok, errors) }
            }
        }
        #expect(waitUntil { started.withLock { $0 != nil } })
        try #require(started.withLock { $0 } == "ok")
        #expect(waitUntil { outcome.withLock { $0 != nil } })
        let result = outcome.withLock { $0 }
        #expect(result?.ok == 1, "join reported: \(String(describing: result))")
        #expect(result?.errors.isEmpty == true)
        let converged = waitUntil {
            loop.execute { views.withLock { $0 = box.pools.map { $0.instance.liveMemberCount } } }
            return views.withLock { $0 } == [2, 2]
        }
        #expect(converged)
        loop.execute { box.pools.forEach { $0.shutdown() } }
        usleep(50_000)
    }
}
