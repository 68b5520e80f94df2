@testable import Membership
@testable import MembershipCore
import Sockets
import Testing

/// Vivaldi clients alone on a synthetic latency matrix, as Serf's
/// `coordinate/phantom.go` simulates them: each cycle every node measures
/// one random peer. Deterministic (seeded), no network.
@Suite struct VivaldiSimulationTests {
    /// Three regions of five nodes: 1 ms round trips inside a region, 40 ms between.
    static let regions = 3, perRegion = 5
    static func region(_ i: Int) -> Int { i / perRegion }
    static func truth(_ i: Int, _ j: Int) -> Double { region(i) == region(j) ? 0.001 : 0.040 }

    /// Runs `cycles` rounds; samples carry up to ±`jitter` of relative noise.
    static func simulate(cycles: Int, jitter: Double, seed: UInt64) throws -> [Vivaldi.Client] {
        let n = regions * perRegion
        var clients = (0..<n).map { Vivaldi.Client(seed: UInt64($0) &+ seed) }
        var random = SeededRandom(seed: seed)
        for _ in 0..<cycles {
            for i in 0..<n {
                var j = Int.random(in: 0..<(n - 1), using: &random)
                if j >= i { j += 1 }
                let noise = 1 + Double.random(in: -jitter...jitter, using: &random)
                let rtt = Vivaldi.duration(seconds: truth(i, j) * noise)
                try clients[i].update(node: "n\(j)", coordinate: clients[j].coordinate, rtt: rtt)
            }
        }
        return clients
    }

    /// Relative errors of the estimates of every ordered pair, split by
    /// whether the pair shares a region.
    static func errors(_ estimate: (Int, Int) -> Double?, nodes: Int) -> (inside: [Double], between: [Double]) {
        var inside: [Double] = [], between: [Double] = []
        for i in 0..<nodes {
            for j in 0..<nodes where j != i {
                let error = abs((estimate(i, j) ?? .infinity) - truth(i, j)) / truth(i, j)
                if region(i) == region(j) { inside.append(error) } else { between.append(error) }
            }
        }
        return (inside, between)
    }

    static func fractionWithin20(_ errors: [Double]) -> Double {
        Double(errors.filter { $0 <= 0.2 }.count) / Double(max(errors.count, 1))
    }

    /// With ±2 % noise per sample (0.8 ms on a 40 ms link, close to the
    /// whole 1 ms of a link inside a region), long links are always right
    /// and most short ones too: the noise of the long links is what moves
    /// the short ones.
    @Test func threeRegionsConvergeWithinTwentyPercentForMostPairs() throws {
        let clients = try Self.simulate(cycles: 1000, jitter: 0.02, seed: 42)
        let (inside, between) = Self.errors({ clients[$0].distance(to: clients[$1].coordinate)?.seconds },
                                            nodes: clients.count)
        let overall = Self.fractionWithin20(inside + between)
        #expect(overall >= 0.9, "\(Int(overall * 100)) % of pairs within 20 %")
        #expect(Self.fractionWithin20(between) == 1, "worst between regions: \(between.max() ?? 0)")
        #expect(Self.fractionWithin20(inside) >= 0.75, "inside regions: \(inside.sorted())")
        #expect(clients.allSatisfy { $0.coordinate.isValid && $0.resets == 0 })
    }

    @Test func withoutNoiseEveryPairConverges() throws {
        let clients = try Self.simulate(cycles: 500, jitter: 0, seed: 5)
        let (inside, between) = Self.errors({ clients[$0].distance(to: clients[$1].coordinate)?.seconds },
                                            nodes: clients.count)
        #expect((inside + between).allSatisfy { $0 < 0.05 }, "worst \((inside + between).max() ?? 0)")
    }

    @Test func nearestOrderPutsTheSameRegionFirst() throws {
        let clients = try Self.simulate(cycles: 1000, jitter: 0.05, seed: 7)
        for i in clients.indices {
            let others = clients.indices.filter { $0 != i }
            let sorted = Vivaldi.sorted(others, near: clients[i].coordinate) { clients[$0].coordinate }
            let sameRegion = sorted.prefix(Self.perRegion - 1).map(Self.region)
            #expect(sameRegion.allSatisfy { $0 == Self.region(i) }, "node \(i): \(sorted)")
        }
    }

    @Test func sameSeedReplaysExactly() throws {
        let a = try Self.simulate(cycles: 50, jitter: 0.05, seed: 9)
        let b = try Self.simulate(cycles: 50, jitter: 0.05, seed: 9)
        #expect(a.map(\.coordinate) == b.map(\.coordinate))
    }
}
