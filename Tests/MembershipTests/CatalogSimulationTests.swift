import CatalogCore
@_spi(Simulation) import MembershipCore
import Primitives
import Simulation
import Testing

/// The catalog's replication (`Catalog.Sync`) on the simulated pool: records,
/// notices, digests and tombstones at scale, under loss and partitions.
/// Everything runs in virtual time from a seed, so a failure replays exactly.
@Suite struct CatalogSimulationTests {
    static func pool(_ n: Int, seed: UInt64) -> Simulator {
        var sim = Simulator(settings: .lan, seed: seed)
        sim.catalog = true
        _ = sim.addConvergedNodes(n)
        return sim
    }

    static func owned(_ sim: Simulator, _ ids: some Sequence<Int>) -> [String: UInt64] { sim.ownedRecords(ids) }
    static func agree(_ sim: Simulator, _ ids: [Int]) -> Bool { sim.catalogsConverged(ids) }

    static func service(_ id: Int, tags: [String] = []) -> Catalog.Service {
        Catalog.Service(id: "web-\(id)", name: "web", tags: tags, port: 8000 + id)
    }

    /// Every member registers a service at once, under loss: every replica
    /// ends up with every record. 1,000 members: `fedagent-sim catalog 1000`
    /// (a release build; 42 s of virtual time, see the README).
    @Test func twoHundredNodesEachRegisteringAServiceAllHoldEveryRecordUnderLoss() {
        var sim = Self.pool(200, seed: 11)
        let all = Array(0..<200)
        sim.lossRate = 0.05
        for id in all { sim.register(Self.service(id), on: id) }
        let took = sim.runUntil(limit: .seconds(300), checkEvery: .seconds(1)) { Self.agree($0, all) }
        #expect(took != nil, "200 replicas of 200 records: \(Self.mismatches(sim, all))")
        for id in [0, 99, 199] {
            #expect(sim.nodes[id].catalog?.replica.record("node-\(id)")?.services.map(\.id) == ["web-\(id)"])
        }
        #expect(sim.totalFailureEvents == 0, "no member declared failed under 5 % loss")
    }

    /// A record too big for a gossip packet travels as a notice; every
    /// replica pulls it from its owner, and the settled notices are forgotten.
    @Test func recordsTooBigForAPacketTravelAsNoticesAndArePulledFromTheirOwners() {
        var sim = Self.pool(200, seed: 12)
        let all = Array(0..<200)
        #expect(sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { Self.agree($0, all) } != nil)
        let tags = (0..<80).map { "a-fairly-long-tag-number-\($0)" }
        for id in [3, 77, 150] { sim.register(Self.service(id, tags: tags), on: id) }
        let big = sim.nodes[3].catalog.map { Catalog.RecordCodec.encode($0.local).count } ?? 0
        #expect(big > sim.settings.userBroadcastLimit, "the record (\(big) bytes) does not fit in a packet")
        sim.lossRate = 0.05
        let took = sim.runUntil(limit: .seconds(120), checkEvery: .seconds(1)) { Self.agree($0, all) }
        #expect(took != nil, "every replica pulled the three large records")
        #expect(sim.nodes[100].catalog?.replica.record("node-77")?.services.first?.tags == tags)
        // Notices wait in `noticed` until the record is held; the next sweep forgets them.
        #expect(all.contains { !(sim.nodes[$0].catalog?.noticed.isEmpty ?? true) }, "notices were used")
        sim.run(for: sim.catalogHousekeeping + .seconds(1))
        #expect(all.allSatisfy { sim.nodes[$0].catalog?.noticed.isEmpty == true }, "settled notices are forgotten")
    }

    /// A deregistered external node is removed everywhere and a stale copy
    /// still in flight cannot bring it back; its tombstone, travelling in
    /// every digest meanwhile, expires after its lifetime.
    @Test func aDeregisteredNodeStaysGoneAndItsTombstoneExpiresEverywhere() throws {
        var sim = Self.pool(100, seed: 13)
        let all = Array(0..<100)
        sim.registerExternal(node: "db-1", service: Catalog.Service(id: "db", name: "db", port: 5432), through: 4)
        #expect(sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { Self.agree($0, all) } != nil)
        let stale = try #require(sim.nodes[4].catalog?.external["db-1"])
        let removed = sim.deregisterExternal(node: "db-1", through: 4)
        #expect(removed)
        sim.lossRate = 0.05
        let gone = sim.runUntil(limit: .seconds(120), checkEvery: .seconds(1)) { s in
            all.allSatisfy { s.nodes[$0].catalog?.replica.record("db-1") == nil }
        }
        #expect(gone != nil, "the removal reached every replica")
        // The old copy arrives late at a few members, by gossip and by a peer's push/pull.
        let message = [Catalog.Sync.MessageKind.record.rawValue] + Catalog.RecordCodec.encode(stale)
        for id in [10, 50, 90] { sim.inject(message, from: 4, to: id) }
        sim.run(for: .seconds(90))
        #expect(all.allSatisfy { sim.nodes[$0].catalog?.replica.record("db-1") == nil }, "nothing resurrected it")
        #expect(all.allSatisfy { sim.nodes[$0].catalog?.replica.tombstoneVersions["db-1"] != nil })
        // Lifetime (600 s) plus one sweep (60 s): no tombstone is left to travel.
        sim.run(for: .seconds(660))
        #expect(all.allSatisfy { sim.nodes[$0].catalog?.replica.tombstoneVersions.isEmpty == true })
        #expect(Self.agree(sim, all))
    }

    /// The two halves of a partition change their records apart; once it
    /// heals, push/pull's digests reconcile every replica to the newest
    /// version of every record, with loss on the way. Within a half, a
    /// replica that gossip missed waits for push/pull (every 60–90 s at this
    /// size, half of the partners unreachable): minutes, not seconds.
    @Test func partitionedHalvesReconcileEveryChangeAfterHealing() {
        var sim = Self.pool(100, seed: 14)
        let all = Array(0..<100)
        #expect(sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { Self.agree($0, all) } != nil)
        sim.partition = Dictionary(uniqueKeysWithValues: all.map { ($0, $0 < 50 ? 0 : 1) })
        sim.lossRate = 0.10
        for round in 0..<3 {
            // Each id is in one round: the one its remainder by 7 names.
            for id in stride(from: round, to: 100, by: 7) { sim.register(Self.service(id, tags: ["round-\(round)"]), on: id) }
            sim.registerExternal(node: "ext-\(round)", service: Catalog.Service(id: "e", name: "e"), through: 75 + round)
            sim.run(for: .seconds(20))
        }
        let left = Array(0..<50), right = Array(50..<100)
        #expect(sim.nodes[0].catalog?.replica.record("node-56")?.services.isEmpty == true,
                "the left half has not seen the right half's changes")
        #expect(sim.nodes[0].catalog?.replica.record("ext-0") == nil)
        #expect(sim.runUntil(limit: .seconds(400), checkEvery: .seconds(1)) { s in
            Self.agreeWithin(s, left) && Self.agreeWithin(s, right)
        } != nil, "each half agrees on its own changes: \(Self.mismatches(sim, left) + Self.mismatches(sim, right))")
        sim.partition = nil
        let healed = sim.runUntil(limit: .seconds(600), checkEvery: .seconds(1)) { Self.agree($0, all) }
        #expect(healed != nil, "every replica holds every change after healing: \(Self.mismatches(sim, all))")
        #expect(sim.nodes[0].catalog?.replica.record("node-56")?.services.first?.tags == ["round-0"])
        #expect(sim.nodes[0].catalog?.replica.record("node-58")?.services.first?.tags == ["round-2"])
        #expect(sim.nodes[99].catalog?.replica.record("node-2")?.services.first?.tags == ["round-2"])
        #expect(sim.nodes[10].catalog?.replica.record("ext-2") != nil)
    }

    static func mismatches(_ sim: Simulator, _ ids: [Int]) -> [String] {
        let expected = owned(sim, ids)
        var out: [String] = []
        for id in ids {
            let view = sim.catalogView(id) ?? [:]
            for (node, version) in expected where view[node] != version { out.append("\(id):\(node) \(String(describing: view[node])) vs \(version)") }
        }
        return Array(out.prefix(8)) + ["(\(out.count) in all)"]
    }

    /// Within one side of a partition: every member holds that side's records as their owners do.
    static func agreeWithin(_ sim: Simulator, _ ids: [Int]) -> Bool {
        let expected = owned(sim, ids)
        return ids.allSatisfy { id in
            guard let view = sim.catalogView(id) else { return false }
            return expected.allSatisfy { view[$0.key] == $0.value }
        }
    }

    /// A node restarted from a disk that lost its last write, with its wall
    /// clock an hour behind, finds its peers holding a newer copy of its
    /// record: it outvotes that copy with a still newer version, and its
    /// restored content is what everyone ends up holding. Its restart can
    /// publish the very version its peers hold, with other content: the
    /// digests' fingerprints tell the two apart.
    @Test func aRestartedNodeOutvotesTheNewerCopyItsPeersHold() throws {
        var sim = Self.pool(50, seed: 15)
        let all = Array(0..<50)
        sim.register(Self.service(7), on: 7)
        let lostWrite = try #require(sim.nodes[7].savedLocal)
        sim.register(Catalog.Service(id: "extra", name: "extra"), on: 7)
        #expect(sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { Self.agree($0, all) } != nil)
        let peersHeld = try #require(sim.nodes[20].catalog?.replica.record("node-7")?.version)
        sim.crash(7)
        sim.nodes[7].savedLocal = lostWrite
        sim.wallSkew[7] = -3_600_000
        sim.run(for: .seconds(2))
        sim.restart(7)
        sim.join(7, through: 0)
        let settled = sim.runUntil(limit: .seconds(120), checkEvery: .seconds(1)) { s in
            Self.agree(s, all) && (s.nodes[7].catalog?.local.version ?? 0) > peersHeld
        }
        #expect(settled != nil, "the restarted node's record wins with a version above \(peersHeld)")
        #expect(sim.nodes[33].catalog?.replica.record("node-7")?.services.map(\.id) == ["web-7"])
    }

    /// A member that leaves takes its records, and the external nodes it
    /// owned, out of every replica.
    @Test func aMemberThatLeavesTakesItsRecordsOutOfEveryReplica() {
        var sim = Self.pool(60, seed: 16)
        let all = Array(0..<60)
        sim.register(Self.service(9), on: 9)
        sim.registerExternal(node: "db-9", service: Catalog.Service(id: "db", name: "db"), through: 9)
        #expect(sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { Self.agree($0, all) } != nil)
        sim.leave(9)
        let rest = all.filter { $0 != 9 }
        let gone = sim.runUntil(limit: .seconds(60), checkEvery: .seconds(1)) { s in
            rest.allSatisfy { s.catalogView($0)?["node-9"] == nil && s.catalogView($0)?["db-9"] == nil }
        }
        #expect(gone != nil)
        #expect(rest.allSatisfy { sim.catalogView($0)?.count == 59 })
    }

    @Test func theSameSeedReplaysTheSameCatalogs() {
        func run() -> ([String: UInt64]?, Int) {
            var sim = Self.pool(30, seed: 17)
            sim.lossRate = 0.1
            for id in 0..<30 { sim.register(Self.service(id), on: id) }
            sim.run(for: .seconds(20))
            return (sim.catalogView(5), sim.packetsSent)
        }
        let (a, b) = (run(), run())
        #expect(a.0 == b.0 && a.1 == b.1)
    }
}
