import Primitives
import RaftCore
import Simulation
import Testing

/// Raft on the simulated network: elections, replication, the safety
/// properties under loss, duplication, reordering, partitions and crashes,
/// and every client history checked for linearizability.
@Suite struct RaftSimulationTests {
    static func converged(_ c: RaftCluster) -> Bool {
        guard let leader = c.leader, let node = c.nodes[leader] else { return false }
        return c.ids.allSatisfy { c.nodes[$0]?.leader == leader && c.nodes[$0]?.hard.term == node.hard.term }
    }

    @Test(arguments: [1, 3, 5])
    func aClusterElectsOneLeaderThatEveryServerFollows(servers: Int) throws {
        var cluster = RaftCluster(servers: servers, seed: 1)
        let took = cluster.run(until: .seconds(10), Self.converged)
        #expect(took != nil, "no agreed leader")
        if servers == 1 { #expect((took ?? .seconds(1)) <= .milliseconds(10), "a single server elects itself at once") }
        let leader = try #require(cluster.leader)
        #expect(cluster.nodes[leader]?.commitIndex ?? 0 >= 2, "the leader's no-op commits")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// The safety properties and linearizability across many seeds, with
    /// everything the network and the servers can do wrong.
    @Test(arguments: 1...24)
    func safeAndLinearizableUnderLossDuplicationReorderingPartitionsAndCrashes(seed: UInt64) throws {
        var cluster = RaftCluster(servers: seed % 2 == 0 ? 3 : 5, seed: seed)
        cluster.lossRate = 0.05
        cluster.duplicateRate = 0.05
        cluster.delay = .milliseconds(1)...(.milliseconds(30))
        cluster.snapshotEvery = 16
        let clients = Clients(count: 4, seed: seed)
        clients.attach(to: &cluster)
        var faults = SeededRandom(seed: seed &* 7919)
        var down: [String: Instant] = [:]
        var healAt: Instant?
        for slice in 0..<2_000 {  // 20 s of virtual time
            clients.issue(on: &cluster)
            cluster.run(for: .milliseconds(10))
            if slice % 50 == 0 { cluster.checkLogMatching() }
            let now = cluster.now
            for (id, until) in down where now >= until {
                cluster.start(id)
                down[id] = nil
            }
            if let heal = healAt, now >= heal {
                cluster.partition = nil
                healAt = nil
            }
            guard slice % 100 == 50 else { continue }
            switch faults.next() % 4 {
            case 0:  // crash one server (the leader half the time) for 0.5–2 s
                let running = cluster.ids.filter { cluster.nodes[$0] != nil }
                let victim = (faults.next() % 2 == 0 ? cluster.leader : nil) ?? running[Int(faults.next() % UInt64(running.count))]
                cluster.crash(victim)
                down[victim] = now + .milliseconds(500 + Int64(faults.next() % 1500))
            case 1:  // split in two at random for 0.5–3 s
                var groups: [String: Int] = [:]
                for id in cluster.ids { groups[id] = Int(faults.next() % 2) }
                cluster.partition = groups
                healAt = now + .milliseconds(500 + Int64(faults.next() % 2500))
            default:
                break
            }
        }
        for id in down.keys { cluster.start(id) }
        cluster.partition = nil
        cluster.run(for: .seconds(5))
        cluster.checkLogMatching()
        #expect(cluster.violations.isEmpty, "\(cluster.violations.prefix(5))")
        #expect(clients.history.firstNonLinearizableKey() == nil, "a history is not linearizable")
        #expect(clients.acknowledgedWrites > 20, "progress: \(clients.acknowledgedWrites) writes acknowledged")
        #expect(clients.answeredReads > 20, "progress: \(clients.answeredReads) reads answered")
    }

    /// Pre-vote: a follower cut off for a while cannot win, so it never
    /// raises its term; back, it disturbs nobody.
    @Test func aServerCutOffAndBackDoesNotDisruptTheLeader() throws {
        var cluster = RaftCluster(servers: 3, seed: 5)
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let leader = try #require(cluster.leader)
        let term = try #require(cluster.nodes[leader]?.hard.term)
        let loner = try #require(cluster.ids.first { $0 != leader })
        cluster.partition = Dictionary(uniqueKeysWithValues: cluster.ids.map { ($0, $0 == loner ? 1 : 0) })
        cluster.run(for: .seconds(5))
        #expect(cluster.nodes[loner]?.hard.term == term, "the cut-off server stands in no election")
        #expect(cluster.nodes[loner]?.role == .preCandidate)
        cluster.partition = nil
        #expect(cluster.run(until: .seconds(5), Self.converged) != nil)
        #expect(cluster.leader == leader, "the same leader")
        #expect(cluster.nodes[leader]?.hard.term == term, "in the same term")
    }

    /// Check-quorum: a leader cut off from its majority steps down; the
    /// majority elects another and commits; the old one commits nothing.
    @Test func aLeaderCutOffFromItsMajorityStepsDownAndCommitsNothing() throws {
        var cluster = RaftCluster(servers: 5, seed: 6)
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let old = try #require(cluster.leader)
        let committed = try #require(cluster.nodes[old]?.commitIndex)
        let friend = try #require(cluster.ids.first { $0 != old })
        cluster.partition = Dictionary(uniqueKeysWithValues: cluster.ids.map { ($0, $0 == old || $0 == friend ? 1 : 0) })
        let now = cluster.now
        let placed = try cluster.step(old) { node, out in try node.propose([1], now: now, into: &out) }
        #expect(placed != nil)
        #expect(cluster.run(until: .seconds(3)) { $0.nodes[old]?.role != .leader } != nil, "the old leader steps down")
        let new = cluster.run(until: .seconds(5)) { c in c.leader.map { $0 != old && $0 != friend } ?? false }
        #expect(new != nil, "the majority elects a leader")
        cluster.run(for: .seconds(1))
        #expect(cluster.nodes[old]?.commitIndex == committed, "nothing committed on the minority side")
        cluster.partition = nil
        #expect(cluster.run(until: .seconds(5), Self.converged) != nil)
        if let placed {
            let replaced = cluster.run(until: .seconds(5)) { c in
                c.nodes[old]?.log.entry(at: placed.index).map { $0.term != placed.term } ?? false
            }
            #expect(replaced != nil, "the minority's entry is replaced by the majority's")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// Read-index: a leader cut off from its majority answers no
    /// consistent read (a read there could miss the new leader's writes);
    /// the majority's new leader answers one.
    @Test func aLeaderCutOffAnswersNoConsistentReadAndTheNewOneDoes() throws {
        final class Answers: @unchecked Sendable { var by: [String: [UInt64]] = [:] }
        var cluster = RaftCluster(servers: 5, seed: 12)
        let answers = Answers()
        cluster.onRead = { server, id, _, _ in answers.by[server, default: []].append(id) }
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let old = try #require(cluster.leader)
        cluster.partition = Dictionary(uniqueKeysWithValues: cluster.ids.map { ($0, $0 == old ? 1 : 0) })
        let now = cluster.now
        cluster.step(old) { node, out in node.read(id: 1, now: now, into: &out) }
        cluster.run(for: .seconds(2))
        #expect(answers.by[old] == nil, "the cut-off leader answered a read")
        #expect(cluster.nodes[old]?.role != .leader)
        let new = try #require(cluster.leader)
        let later = cluster.now
        cluster.step(new) { node, out in node.read(id: 2, now: later, into: &out) }
        #expect(cluster.run(until: .seconds(1)) { _ in answers.by[new] == [2] } != nil)
    }

    /// A server down while the others write and compact their logs is
    /// sent a snapshot when it returns, and ends with the same state.
    @Test func aServerBackFromACrashCatchesUpFromASnapshot() throws {
        var cluster = RaftCluster(servers: 3, seed: 8)
        cluster.snapshotEvery = 10
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let leader = try #require(cluster.leader)
        let behind = try #require(cluster.ids.first { $0 != leader })
        cluster.crash(behind)
        for n in 0..<100 {
            let now = cluster.now
            _ = try cluster.step(leader) { node, out in
                try node.propose(RaftCluster.encodeWrite(key: "k\(n % 7)", value: "v\(n)"), now: now, into: &out)
            }
            cluster.run(for: .milliseconds(5))
        }
        cluster.run(for: .milliseconds(500))
        #expect((cluster.nodes[leader]?.log.snapshotIndex ?? 0) > 50, "the leader compacted its log")
        cluster.start(behind)
        let caught = cluster.run(until: .seconds(5)) { c in
            c.machines[behind] == c.machines[leader] && c.nodes[behind]?.appliedIndex == c.nodes[leader]?.appliedIndex
        }
        #expect(caught != nil, "the returning server holds the leader's state")
        #expect(cluster.disks[behind]?.snapshot != nil, "from a snapshot")
        #expect(cluster.machines[behind]?["k6"] == "v97")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// Every server crashes and restarts from its disk: nothing committed is lost.
    @Test func aWholeClusterRestartedFromItsDisksKeepsEveryCommittedWrite() throws {
        var cluster = RaftCluster(servers: 3, seed: 9)
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let leader = try #require(cluster.leader)
        for n in 0..<30 {
            let now = cluster.now
            _ = try cluster.step(leader) { node, out in
                try node.propose(RaftCluster.encodeWrite(key: "k", value: "v\(n)"), now: now, into: &out)
            }
        }
        #expect(cluster.run(until: .seconds(2)) { $0.machines[leader]?["k"] == "v29" } != nil)
        for id in cluster.ids { cluster.crash(id) }
        for id in cluster.ids { cluster.start(id) }
        let back = cluster.run(until: .seconds(10)) { c in Self.converged(c) && c.ids.allSatisfy { c.machines[$0]?["k"] == "v29" } }
        #expect(back != nil, "every server applies the committed writes again")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// Membership, one server at a time: one added, then the leader
    /// removed (it leads until its removal commits, then steps down).
    @Test func votersChangeOneAtATimeAndARemovedLeaderStepsDown() throws {
        var cluster = RaftCluster(servers: 3, seed: 10)
        #expect(cluster.run(until: .seconds(10), Self.converged) != nil)
        let leader = try #require(cluster.leader)
        let now = cluster.now
        let voters = try #require(cluster.nodes[leader]?.voters)
        #expect(throws: Raft.Node.ProposalError.notOneChange) {
            try cluster.step(leader) { node, out in try node.changeVoters(to: voters + ["x", "y"], now: now, into: &out) }
        }
        _ = try cluster.step(leader) { node, out in try node.changeVoters(to: voters.filter { $0 != leader }, now: now, into: &out) }
        #expect(throws: Raft.Node.ProposalError.configurationPending) {
            try cluster.step(leader) { node, out in try node.changeVoters(to: voters, now: now, into: &out) }
        }
        let moved = cluster.run(until: .seconds(5)) { c in c.leader.map { $0 != leader } ?? false }
        #expect(moved != nil, "a remaining voter leads")
        #expect(cluster.nodes[leader]?.role != .leader)
        let newLeader = try #require(cluster.leader)
        #expect(cluster.nodes[newLeader]?.voters.count == 2)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    /// The checker itself: it refuses a stale read, and accepts an open
    /// write that may or may not have happened.
    @Test func theCheckerRefusesAStaleReadAndAcceptsOpenWrites() {
        func t(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
        let stale = History()
        stale.respond(stale.call("k", .write("1"), at: t(0)), at: t(10))
        stale.respond(stale.call("k", .write("2"), at: t(20)), at: t(30))
        stale.respond(stale.call("k", .read(nil), at: t(40)), at: t(50), read: .some("1"))
        #expect(stale.firstNonLinearizableKey() == "k")
        let open = History()
        _ = open.call("k", .write("1"), at: t(0))
        open.respond(open.call("k", .read(nil), at: t(40)), at: t(50), read: .some("1"))
        open.respond(open.call("k", .read(nil), at: t(60)), at: t(70), read: .some("1"))
        #expect(open.firstNonLinearizableKey() == nil)
        let flip = History()
        _ = flip.call("k", .write("1"), at: t(0))
        flip.respond(flip.call("k", .read(nil), at: t(40)), at: t(50), read: .some("1"))
        flip.respond(flip.call("k", .read(nil), at: t(60)), at: t(70), read: .some(nil))
        #expect(flip.firstNonLinearizableKey() == "k", "a write seen cannot be unseen")
    }
}
