@_spi(Simulation) import MembershipCore
import Membership
import Simulation
import Sockets
import Testing

/// Whole-protocol behaviour on the deterministic simulated network.
@Suite struct SimulationTests {
    /// Builds `n` nodes that all join through node 0, started 10 ms apart.
    static func cluster(_ n: Int, settings: SWIM.Settings = .lan, seed: UInt64) -> Simulator {
        var sim = Simulator(settings: settings, seed: seed)
        for i in 0..<n {
            let id = sim.addNode()
            if i > 0 { sim.join(id, through: 0) }
            sim.run(for: .milliseconds(10))
        }
        return sim
    }

    @Test func fiveNodesConvergeAndDetectACrash() {
        var sim = Self.cluster(5, seed: 1)
        let all = Set(0..<5)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)
        #expect(sim.viewsCorrect(live: all))

        sim.crash(3)
        let survivors = all.subtracting([3])
        let detected = sim.runUntil(limit: .seconds(120)) { s in
            survivors.allSatisfy { s.status(of: 3, seenBy: $0) == .dead }
        }
        #expect(detected != nil)
        for observer in survivors { #expect(sim.failures(of: 3, seenBy: observer) == 1) }
        #expect(sim.viewsCorrect(live: survivors))
    }

    @Test func thousandNodesConvergeToFullViews() {
        var sim = Self.cluster(1000, seed: 2)
        let all = Set(0..<1000)
        let took = sim.runUntil(limit: .seconds(600)) { $0.converged(live: all) }
        #expect(took != nil)
        #expect(sim.viewsCorrect(live: all))
        #expect(sim.totalFailureEvents == 0)
    }

    @Test func tenPercentLossGivesNoFalseFailures() {
        var sim = Self.cluster(100, seed: 3)
        let all = Set(0..<100)
        #expect(sim.runUntil(limit: .seconds(120)) { $0.converged(live: all) } != nil)
        sim.lossRate = 0.10
        sim.run(for: .seconds(600))
        #expect(sim.totalFailureEvents == 0)
        sim.lossRate = 0
        #expect(sim.runUntil(limit: .seconds(60)) { $0.viewsCorrect(live: all) } != nil)
    }

    @Test func partitionHealsAndBothSidesReconverge() {
        var sim = Self.cluster(20, seed: 4)
        let all = Set(0..<20)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)

        sim.partition = Dictionary(uniqueKeysWithValues: (0..<20).map { ($0, $0 < 10 ? 0 : 1) })
        let left = Set(0..<10), right = Set(10..<20)
        let split = sim.runUntil(limit: .seconds(300)) { $0.converged(live: left) && $0.converged(live: right) }
        #expect(split != nil, "each side should declare the other failed")
        #expect(sim.status(of: 15, seenBy: 2) == .dead)

        sim.partition = nil
        let healed = sim.runUntil(limit: .seconds(600)) { $0.viewsCorrect(live: all) }
        #expect(healed != nil, "pools should find each other again through reconnects")
    }

    @Test func falselySuspectedNodeRefutes() {
        var sim = Self.cluster(8, seed: 5)
        let all = Set(0..<8)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)
        let before = sim.instance(4)?.incarnation ?? 0

        // Node 1 tells node 2 that node 4 is suspect; node 4 itself is fine.
        let rumour = SWIM.encodeSuspicionForTesting(name: Simulator.name(4), incarnation: before,
                                                    from: Simulator.name(1))
        sim.inject(rumour, from: 1, to: 2)
        sim.run(for: .microseconds(1))  // delivered, and nothing else yet
        #expect(sim.status(of: 4, seenBy: 2) == .suspect)

        let refuted = sim.runUntil(limit: .seconds(60)) { s in
            all.allSatisfy { s.instance($0)?.member(named: Simulator.name(4))?.incarnation ?? 0 > before }
        }
        #expect(refuted != nil)
        #expect(sim.viewsCorrect(live: all))
        #expect(sim.totalFailureEvents == 0)
    }

    @Test func restartedNodeRejoinsWithHigherIncarnation() {
        var sim = Self.cluster(6, seed: 6)
        let all = Set(0..<6)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)

        sim.crash(5)
        let others = all.subtracting([5])
        #expect(sim.runUntil(limit: .seconds(120)) { s in others.allSatisfy { s.status(of: 5, seenBy: $0) == .dead } } != nil)
        let deadIncarnation = sim.instance(0)?.member(named: Simulator.name(5))?.incarnation ?? 0

        sim.restart(5)
        sim.join(5, through: 0)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.viewsCorrect(live: all) } != nil)
        let now = sim.instance(0)?.member(named: Simulator.name(5))?.incarnation ?? 0
        #expect(now > deadIncarnation)
    }

    @Test func gracefulLeaveIsReportedLeftNotFailed() {
        var sim = Self.cluster(10, seed: 7)
        let all = Set(0..<10)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)

        sim.leave(9)
        let rest = all.subtracting([9])
        let left = sim.runUntil(limit: .seconds(30)) { s in rest.allSatisfy { s.status(of: 9, seenBy: $0) == .left } }
        #expect(left != nil)
        sim.crash(9)  // the process exits after leaving
        sim.run(for: .seconds(60))
        #expect(sim.totalFailureEvents == 0)
        #expect(rest.allSatisfy { sim.status(of: 9, seenBy: $0) == .left })
    }

    @Test func sameSeedReplaysExactly() {
        func fingerprint() -> [UInt32] {
            var sim = Self.cluster(12, seed: 99)
            sim.lossRate = 0.05
            sim.run(for: .seconds(30))
            return (0..<12).map { sim.instance($0)?.incarnation ?? 0 } + [UInt32(truncatingIfNeeded: sim.bytesSent)]
        }
        #expect(fingerprint() == fingerprint())
    }

    @Test func memberThatMissedNewsCatchesUpThroughViewSync() {
        var sim = Simulator(seed: 8)
        let pool = sim.addConvergedNodes(10)
        sim.run(for: .seconds(5))
        // Node 10 arrives known to everyone but node 3, and gossip has
        // nothing left to say about it: only anti-entropy can repair node 3.
        let late = sim.addNode()
        let everyone = pool.map { (name: Simulator.name($0), address: Simulator.address($0)) }
        sim.nodes[late].instance?.preload(everyone, now: sim.now)
        for id in pool where id != 3 {
            sim.nodes[id].instance?.preload([(name: Simulator.name(late), address: Simulator.address(late))], now: sim.now)
        }
        let all = Set(0...late)
        #expect(!sim.converged(live: all))
        // Well before the first periodic push/pull (30–60 s after start).
        let repaired = sim.runUntil(limit: .seconds(15)) { $0.viewsCorrect(live: all) }
        #expect(repaired != nil, "node 3 should learn node 10 from a peer whose ping or ack shows a bigger view")
    }
}
