@testable import Membership
@testable import MembershipCore
import Sockets
import Testing

/// The coordinate math and the client's update, driven by hand.
@Suite struct VivaldiTests {
    static func coordinate(_ vector: [Double], height: Double = 10e-6, adjustment: Double = 0,
                           error: Double = 1.5) -> Vivaldi.Coordinate {
        var v = vector
        v += Array(repeating: 0, count: 8 - v.count)
        return Vivaldi.Coordinate(vector: v, error: error, adjustment: adjustment, height: height)
    }

    @Test func newCoordinateIsTheOriginWithSerfsDefaults() {
        let c = Vivaldi.Coordinate()
        #expect(c.vector == Array(repeating: 0, count: 8))
        #expect(c.error == 1.5)
        #expect(c.adjustment == 0)
        #expect(c.height == 10e-6)
    }

    @Test func distanceIsEuclideanPlusHeightsPlusAdjustments() throws {
        let a = Self.coordinate([0.003, 0.004], height: 0.001, adjustment: 0.0005)
        let b = Self.coordinate([0, 0], height: 0.002, adjustment: -0.0002)
        // 5 ms apart in the plane, 1 + 2 ms of heights, 0.3 ms of adjustments.
        let d = try #require(a.distanceSeconds(to: b))
        #expect(abs(d - 0.0083) < 1e-12)
        #expect(a.distance(to: b) == .nanoseconds(8_300_000))
        #expect(b.distanceSeconds(to: a) == d, "distance is symmetric")
    }

    @Test func negativeAdjustmentsThatWouldMakeTheDistanceNegativeAreIgnored() throws {
        let a = Self.coordinate([0.001], height: 0, adjustment: -0.01)
        let b = Self.coordinate([0], height: 0, adjustment: -0.01)
        #expect(try #require(a.distanceSeconds(to: b)) == 0.001)
    }

    @Test func incompatibleOrInvalidCoordinatesHaveNoDistance() {
        let a = Vivaldi.Coordinate()
        let short = Vivaldi.Coordinate(vector: [0, 0, 0], error: 1, adjustment: 0, height: 1e-5)
        var nan = Vivaldi.Coordinate()
        nan.vector[3] = .nan
        var infinite = Vivaldi.Coordinate()
        infinite.height = .infinity
        #expect(a.distance(to: short) == nil)
        #expect(a.distance(to: nan) == nil)
        #expect(infinite.distance(to: a) == nil)
        #expect(!nan.isValid && !infinite.isValid && a.isValid)
    }

    @Test func updateRejectsBadPeersAndRoundTripsWithoutMoving() {
        var client = Vivaldi.Client(seed: 1)
        let before = client.coordinate
        var nan = Vivaldi.Coordinate()
        nan.error = .nan
        #expect(throws: Vivaldi.Rejection.invalid) { try client.update(node: "p", coordinate: nan, rtt: .milliseconds(1)) }
        let wrongSize = Vivaldi.Coordinate(vector: [1, 2], error: 1, adjustment: 0, height: 1e-5)
        #expect(throws: Vivaldi.Rejection.incompatible) {
            try client.update(node: "p", coordinate: wrongSize, rtt: .milliseconds(1))
        }
        #expect(throws: Vivaldi.Rejection.roundTripOutOfRange) {
            try client.update(node: "p", coordinate: Vivaldi.Coordinate(), rtt: .seconds(11))
        }
        #expect(throws: Vivaldi.Rejection.roundTripOutOfRange) {
            try client.update(node: "p", coordinate: Vivaldi.Coordinate(), rtt: .milliseconds(-1))
        }
        #expect(client.coordinate == before)
        #expect(client.updates == 0)
        #expect(client.trackedPeers == 0, "a rejected sample is not filtered either")
    }

    @Test func twoNodesAtTheOriginPushApartInASeededRandomDirection() throws {
        var a = Vivaldi.Client(seed: 7), again = Vivaldi.Client(seed: 7)
        let peer = Vivaldi.Coordinate()
        try a.update(node: "b", coordinate: peer, rtt: .milliseconds(10))
        try again.update(node: "b", coordinate: peer, rtt: .milliseconds(10))
        #expect(a.coordinate == again.coordinate, "the same seed takes the same direction")
        let moved = Vivaldi.magnitude(a.coordinate.vector, minus: peer.vector)
        #expect(moved > 0.001, "moved away from the peer (\(moved) s)")
        #expect(a.coordinate.error < 1.5)
        #expect(a.updates == 1)
    }

    @Test func repeatedSamplesConvergeOnTheMeasuredRoundTrip() throws {
        var client = Vivaldi.Client(seed: 3)
        // A peer that is sure of its position 20 ms away from the origin.
        let peer = Self.coordinate([0.02], height: 10e-6, error: 0.05)
        for _ in 0..<200 { try client.update(node: "p", coordinate: peer, rtt: .milliseconds(25)) }
        let estimate = try #require(client.distance(to: peer)).seconds
        #expect(abs(estimate - 0.025) / 0.025 < 0.05, "estimate \(estimate) s")
        #expect(client.coordinate.error < 0.2)
    }

    @Test func latencyFilterTakesTheMedianOfTheLastThree() {
        var client = Vivaldi.Client(seed: 1)
        #expect(client.filtered("p", 0.010) == 0.010)
        #expect(client.filtered("p", 0.500) == 0.500, "two samples: the larger middle")
        #expect(client.filtered("p", 0.012) == 0.012, "a single slow sample is ignored")
        #expect(client.filtered("p", 0.011) == 0.012)
        #expect(client.filtered("q", 0.002) == 0.002, "per peer")
        client.forget("p")
        #expect(client.trackedPeers == 1)
    }

    @Test func setCoordinateValidates() throws {
        var client = Vivaldi.Client(seed: 1)
        let good = Self.coordinate([0.1, 0.2], height: 0.001, error: 0.3)
        try client.setCoordinate(good)
        #expect(client.coordinate == good)
        var bad = good
        bad.adjustment = -.infinity
        #expect(throws: Vivaldi.Rejection.invalid) { try client.setCoordinate(bad) }
        #expect(client.coordinate == good)
    }

    @Test func sortedNearPutsNearestFirstAndUnknownLastStably() {
        let origin = Self.coordinate([0])
        let items: [(String, Vivaldi.Coordinate?)] = [
            ("far", Self.coordinate([0.04])), ("unknown1", nil), ("near", Self.coordinate([0.001])),
            ("mid", Self.coordinate([0.01])), ("unknown2", nil), ("bad", Vivaldi.Coordinate(vector: [1], error: 1, adjustment: 0, height: 0)),
        ]
        let sorted = Vivaldi.sorted(items, near: origin, by: \.1).map(\.0)
        #expect(sorted == ["near", "mid", "far", "unknown1", "unknown2", "bad"])
        #expect(Vivaldi.sorted(items, near: nil, by: \.1).map(\.0) == items.map(\.0))
    }
}
