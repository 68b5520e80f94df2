@testable import Agent
@testable import CatalogCore
import Glibc
import Membership
import Sockets
import Synchronization
import TestSupport
import Testing

/// CatalogSync on a real loop and pool (one agent, no peers needed).
@Suite struct CatalogSyncTests {
    final class Box: @unchecked Sendable {
        var pool: GossipPool?
        var sync: CatalogSync?
    }

    @Test func serviceCriticalLongerThanItsLimitIsDeregisteredAndAPassingOneStays() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let services = Mutex<[String]?>(nil)
        loop.execute {
            for octet in UInt8(1)...40 where box.pool == nil {
                guard let e = Endpoint(ip: "127.0.72.\(octet)", port: 18303) else { continue }
                box.pool = try? GossipPool(label: "lan", name: "s1", bind: e, advertise: e, meta: [], settings: .local, loop: loop)
            }
            guard let pool = box.pool else { return }
            let sync = CatalogSync(local: Catalog.NodeRecord(node: "s1", address: "127.0.72.1", datacenter: "dc1", owner: "s1"),
                                   pool: pool, loop: loop, dataDir: nil)
            sync.minimumDeregisterCriticalAfter = .milliseconds(100)
            box.sync = sync
            var doomed = Catalog.Check(id: "service:doomed", name: "c", status: .critical, serviceID: "doomed", type: "ttl", ttl: "60s")
            doomed.deregisterCriticalAfter = "200ms"
            var fine = Catalog.Check(id: "service:fine", name: "c", status: .passing, serviceID: "fine", type: "ttl", ttl: "60s")
            fine.deregisterCriticalAfter = "200ms"
            sync.register(Catalog.Service(id: "doomed", name: "doomed"), checks: [doomed])
            sync.register(Catalog.Service(id: "fine", name: "fine"), checks: [fine])
        }
        let gone = waitUntil {
            loop.execute { services.withLock { $0 = box.sync?.local.services.map(\.id).sorted() } }
            return services.withLock { $0 } == ["fine"]
        }
        #expect(gone, "only the critical service is removed: \(String(describing: services.withLock { $0 }))")
        loop.execute { box.pool?.shutdown() }
        usleep(50_000)
    }

    /// Peers re-gossip every record they learn, so an agent hears its own
    /// record back. Republishing that echo made every pair of agents bounce
    /// their records forever (a new version, a write and a gossip each time).
    @Test func anEchoOfTheOwnRecordIsNotRepublishedButANewerOrDifferentCopyIs() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        // Versions after: an echo, a copy as new but different, a newer copy.
        let versions = Mutex<(start: UInt64, echo: UInt64, different: UInt64, newer: UInt64)?>(nil)
        loop.execute {
            for octet in UInt8(41)...80 where box.pool == nil {
                guard let e = Endpoint(ip: "127.0.72.\(octet)", port: 18303) else { continue }
                box.pool = try? GossipPool(label: "lan", name: "s1", bind: e, advertise: e, meta: [], settings: .local, loop: loop)
            }
            guard let pool = box.pool else { return }
            let sync = CatalogSync(local: Catalog.NodeRecord(node: "s1", address: "127.0.72.41", datacenter: "dc1", owner: "s1"),
                                   pool: pool, loop: loop, dataDir: nil)
            box.sync = sync
            sync.register(Catalog.Service(id: "web", name: "web"))
            func message(_ record: Catalog.NodeRecord) -> [UInt8] {
                [CatalogSync.MessageKind.record.rawValue] + Catalog.RecordCodec.encode(record)
            }
            let start = sync.local.version
            sync.userMessageReceived(message(sync.local))
            let echo = sync.local.version
            var stale = sync.local
            stale.services = []
            sync.userMessageReceived(message(stale))
            let different = sync.local.version
            var newer = sync.local
            newer.version += 1_000
            newer.services = []
            sync.userMessageReceived(message(newer))
            versions.withLock { $0 = (start, echo, different, sync.local.version) }
        }
        #expect(waitUntil { versions.withLock { $0 } != nil }, "the agent never started")
        let v = try #require(versions.withLock { $0 })
        #expect(v.echo == v.start, "an echo of the current record changes nothing")
        #expect(v.different > v.start, "a different copy with our version is outvoted")
        #expect(v.newer > v.different + 1_000, "a newer copy is outvoted by a still newer version")
        loop.execute { box.pool?.shutdown() }
        usleep(50_000)
    }
}

/// Bookkeeping that must not grow for ever: tombstones expire and
/// notices are forgotten once acted on, on the sync's own timer.
@Suite struct CatalogHousekeepingTests {
    @Test func theTimerExpiresTombstonesForgetsSettledNoticesAndCapsTheRest() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = CatalogSyncTests.Box()
        let seen = Mutex<(tombstones: Int, noticed: Int, settledForgotten: Bool)?>(nil)
        loop.execute {
            for octet in UInt8(81)...120 where box.pool == nil {
                guard let e = Endpoint(ip: "127.0.72.\(octet)", port: 18303) else { continue }
                box.pool = try? GossipPool(label: "lan", name: "s1", bind: e, advertise: e, meta: [], settings: .local, loop: loop)
            }
            guard let pool = box.pool else { return }
            let sync = CatalogSync(local: Catalog.NodeRecord(node: "s1", address: "127.0.72.1", datacenter: "dc1", owner: "s1"),
                                   pool: pool, loop: loop, dataDir: nil, housekeeping: .milliseconds(50))
            box.sync = sync
            sync.core.replica.tombstoneLifetime = .milliseconds(100)
            _ = sync.core.replica.remove(node: "gone", version: 5, now: loop.now())
            // A notice of our own record at its version has been acted on; one of a node never seen waits.
            sync.core.noticed["s1"] = sync.local.version
            sync.core.noticed["pending"] = 9
            for i in 0..<(Catalog.Sync.noticedLimit + 500) { sync.core.noticed["flood-\(i)"] = 1 }
        }
        let swept = waitUntil {
            loop.execute {
                guard let sync = box.sync else { return }
                seen.withLock { $0 = (sync.replica.tombstoneVersions.count, sync.core.noticed.count, sync.core.noticed["s1"] == nil) }
            }
            guard let s = seen.withLock({ $0 }) else { return false }
            return s.tombstones == 0 && s.noticed <= Catalog.Sync.noticedLimit && s.settledForgotten
        }
        #expect(swept, "tombstones expired, notices capped and the settled one forgotten: \(String(describing: seen.withLock { $0 }))")
        loop.execute { box.pool?.shutdown() }
        usleep(50_000)
    }
}
