@_spi(Simulation) import MembershipCore
import Membership
import Simulation
import Sockets
import Testing

/// Coordinates computed by whole SWIM instances from their own probes, on
/// the simulated network with a latency matrix: three regions, 1 ms round
/// trips inside a region and 40 ms between.
@Suite struct CoordinateSimulationTests {
    static let perRegion = 5, nodes = 15
    static func region(_ i: Int) -> Int { i / perRegion }
    static func truth(_ i: Int, _ j: Int) -> Double { region(i) == region(j) ? 0.001 : 0.040 }

    /// Joined through node 0, one-way delay half the round trip plus up to
    /// 20 µs of jitter each way.
    static func regions(settings: SWIM.Settings = .lan, seed: UInt64) -> Simulator {
        var sim = Simulator(settings: settings, seed: seed)
        sim.minDelay = .zero
        sim.maxDelay = .microseconds(20)
        sim.linkLatency = { from, to in .nanoseconds(Int64(truth(from, to) / 2 * 1e9)) }
        for i in 0..<nodes {
            let id = sim.addNode()
            if i > 0 { sim.join(id, through: 0) }
            sim.run(for: .milliseconds(10))
        }
        return sim
    }

    /// Each node's estimate of each other node, from its own coordinate and
    /// the last coordinate it heard of the other (what `?near=` sorts by).
    static func estimate(_ sim: Simulator, _ i: Int, _ j: Int) -> Double? {
        sim.instance(i)?.estimatedRoundTrip(from: Simulator.name(i), to: Simulator.name(j))?.seconds
    }

    @Test func estimatedRoundTripsConvergeWithinTwentyPercentForMostPairs() throws {
        var sim = Self.regions(seed: 11)
        let all = Set(0..<Self.nodes)
        #expect(sim.runUntil(limit: .seconds(60)) { $0.converged(live: all) } != nil)
        sim.run(for: .seconds(600))
        var within = 0, total = 0, worst = 0.0
        for i in 0..<Self.nodes {
            for j in 0..<Self.nodes where j != i {
                let error = abs((Self.estimate(sim, i, j) ?? .infinity) - Self.truth(i, j)) / Self.truth(i, j)
                worst = max(worst, error)
                if error <= 0.2 { within += 1 }
                total += 1
            }
        }
        #expect(Double(within) / Double(total) >= 0.9, "\(within) of \(total) pairs within 20 % (worst \(worst))")
        #expect(sim.nodes.allSatisfy { ($0.instance?.coordinateRejections ?? 1) == 0 })
    }

    @Test func nearestFirstPutsTheSameRegionFirstForEveryNode() throws {
        var sim = Self.regions(seed: 12)
        sim.run(for: .seconds(600))
        for i in 0..<Self.nodes {
            let me = try #require(sim.instance(i))
            let others = (0..<Self.nodes).filter { $0 != i }
            let sorted = Vivaldi.sorted(others, near: me.coordinate) { me.coordinate(of: Simulator.name($0)) }
            #expect(sorted.prefix(Self.perRegion - 1).allSatisfy { Self.region($0) == Self.region(i) },
                    "node \(i): \(sorted)")
        }
    }

    /// Gossip bytes (payload plus 28 bytes of IP and UDP header a
    /// datagram) over ten steady minutes, with coordinates and with the
    /// refresh off (each coordinate fetched once, then never again).
    @Test func steadyStateCoordinatesCostLittleGossip() throws {
        func steadyBytes(_ settings: SWIM.Settings) -> Int {
            var sim = Self.regions(settings: settings, seed: 13)
            sim.run(for: .seconds(300))
            let (bytes, packets) = (sim.bytesSent, sim.packetsSent)
            sim.run(for: .seconds(600))
            return (sim.bytesSent - bytes) + 28 * (sim.packetsSent - packets)
        }
        var off = SWIM.Settings.lan
        off.coordinateRefreshInterval = .seconds(1_000_000)
        off.coordinateWarmupUpdates = 0
        let with = steadyBytes(.lan), without = steadyBytes(off)
        let added = Double(with - without) / Double(without)
        // About 58 bytes every 15 s per agent, on probes of about 100 bytes a second.
        #expect(added > 0 && added < 0.05, "coordinates add \(added * 100) % to UDP gossip (\(with) vs \(without) bytes)")
    }
}
