@testable import Membership
@testable import MembershipCore
import Sockets
import Testing

/// Coordinates on the probes, driven by hand: who asks, who answers, what
/// the ack carries, and what a bad coordinate does (nothing).
@Suite struct CoordinateGossipTests {
    typealias T = InstanceTests

    /// Settings past the warm-up, so only requests bring coordinates.
    static var settled: SWIM.Settings {
        var s = SWIM.Settings.lan
        s.coordinateWarmupUpdates = 0
        return s
    }

    static func instance(settings: SWIM.Settings) -> SWIM.Instance {
        var me = T.instance(settings: settings)
        _ = me.receive(T.packet(.alive(SWIM.Alive(incarnation: 0, name: "peer", address: T.address(2), meta: []))),
                       from: T.address(2), now: T.t0)
        return me
    }

    static func packet(_ messages: [SWIM.Message]) -> [UInt8] {
        SWIM.WireCodec.packet(messages.map(SWIM.WireCodec.encode))
    }

    /// 15.6 ms from the origin plus 0.49 ms of height: values a Float32 holds exactly.
    static let far = Vivaldi.Coordinate(vector: [0.015625, 0, 0, 0, 0, 0, 0, 0], error: 0.25, adjustment: 0,
                                        height: 0.00048828125)

    /// A coordinate as it arrives: the wire carries 32-bit floats.
    static func wire(_ c: Vivaldi.Coordinate) -> Vivaldi.Coordinate {
        func f(_ x: Double) -> Double { Double(Float(x)) }
        return Vivaldi.Coordinate(vector: c.vector.map(f), error: f(c.error), adjustment: f(c.adjustment), height: f(c.height))
    }

    /// Ticks until `me` pings someone; returns the ping's messages and when.
    static func nextPing(_ me: inout SWIM.Instance, after start: Instant) -> (SWIM.Ping, [SWIM.Message], Instant)? {
        var now = start
        for _ in 0..<50 {
            now = max(me.nextWakeup, now)
            for d in me.tick(now: now) {
                guard case .send(let bytes, _) = d, let ms = try? SWIM.WireCodec.decodePacket(bytes) else { continue }
                for case .ping(let p) in ms { return (p, ms, now) }
            }
        }
        return nil
    }

    @Test func askedPingIsAckedWithOurCoordinateAndUnaskedOneIsNot() {
        var me = Self.instance(settings: Self.settled)
        let ping = SWIM.Ping(sequence: 5, target: "me", source: "peer", targetIncarnation: 0)
        let asked = T.sent(me.receive(Self.packet([.ping(ping), .coordinateRequest]), from: T.address(2), now: T.t0))
        #expect(asked.map(\.0).prefix(2) == [.ack(sequence: 5, liveMembers: 2), .coordinate(Self.wire(me.coordinate))])
        let plain = T.sent(me.receive(Self.packet([.ping(ping)]), from: T.address(2), now: T.t0))
        #expect(plain.first?.0 == .ack(sequence: 5, liveMembers: 2))
        #expect(!plain.contains { if case .coordinate = $0.0 { true } else { false } })
    }

    @Test func warmingUpNodePutsItsCoordinateInEveryDirectAckButNotARelays() {
        var me = Self.instance(settings: .lan)
        let direct = SWIM.Ping(sequence: 6, target: "me", source: "peer", targetIncarnation: 0)
        #expect(T.sent(me.receive(T.packet(.ping(direct)), from: T.address(2), now: T.t0))
            .contains { $0.0 == .coordinate(Self.wire(me.coordinate)) })
        let relayed = SWIM.Ping(sequence: 7, target: "me", source: "relay", targetIncarnation: UInt32.max)
        let toRelay = T.sent(me.receive(Self.packet([.ping(relayed), .coordinateRequest]), from: T.address(3), now: T.t0))
        #expect(toRelay.first?.0 == .ack(sequence: 7, liveMembers: 2))
        #expect(!toRelay.contains { if case .coordinate = $0.0 { true } else { false } })
    }

    @Test func proberAsksWhenItHasNoCoordinateThenOnlyOncePerRefreshInterval() throws {
        var settings = Self.settled
        settings.coordinateRefreshInterval = .seconds(3600)
        var me = Self.instance(settings: settings)
        let (first, messages, at) = try #require(Self.nextPing(&me, after: T.t0))
        #expect(messages.contains(.coordinateRequest), "nothing known of the target yet")
        // The target answers after 20 ms with its coordinate.
        let answer = Self.packet([.ack(sequence: first.sequence, liveMembers: 2), .coordinate(Self.far)])
        _ = me.receive(answer, from: T.address(2), now: at + .milliseconds(20))
        #expect(me.coordinate(of: "peer") == Self.far)
        #expect(me.coordinateUpdates == 1)
        #expect(me.coordinate != Vivaldi.Coordinate(), "our coordinate moved")

        let (second, again, at2) = try #require(Self.nextPing(&me, after: at + .seconds(1)))
        #expect(!again.contains(.coordinateRequest), "known, and the refresh is not due")
        _ = me.receive(Self.packet([.ack(sequence: second.sequence, liveMembers: 2)]), from: T.address(2),
                       now: at2 + .milliseconds(20))
        #expect(me.coordinateUpdates == 2, "a plain ack still updates against the coordinate we have")
    }

    @Test func disabledCoordinatesNeitherAskNorAnswerNorMove() throws {
        var settings = SWIM.Settings.lan  // warming up: would ask and share on every probe
        settings.coordinatesEnabled = false
        var me = Self.instance(settings: settings)
        let ping = SWIM.Ping(sequence: 5, target: "me", source: "peer", targetIncarnation: 0)
        let acked = T.sent(me.receive(Self.packet([.ping(ping), .coordinateRequest]), from: T.address(2), now: T.t0))
        #expect(acked.first?.0 == .ack(sequence: 5, liveMembers: 2))
        #expect(!acked.contains { if case .coordinate = $0.0 { true } else { false } })
        let (probe, messages, at) = try #require(Self.nextPing(&me, after: T.t0))
        #expect(!messages.contains(.coordinateRequest))
        _ = me.receive(Self.packet([.ack(sequence: probe.sequence, liveMembers: 2), .coordinate(Self.far)]),
                       from: T.address(2), now: at + .milliseconds(20))
        #expect(me.coordinate(of: "peer") == nil)
        #expect(me.coordinateUpdates == 0)
    }

    @Test func unusableCoordinatesInAcksAreCountedAndChangeNothing() throws {
        var me = Self.instance(settings: Self.settled)
        var now = T.t0
        let junk: [Vivaldi.Coordinate] = [
            Vivaldi.Coordinate(vector: [1, 2, 3], error: 0.1, adjustment: 0, height: 1e-5),
            Vivaldi.Coordinate(vector: Array(repeating: .nan, count: 8), error: 0.1, adjustment: 0, height: 1e-5),
            Vivaldi.Coordinate(vector: Array(repeating: 0, count: 8), error: .infinity, adjustment: 0, height: 1e-5),
        ]
        for (n, bad) in junk.enumerated() {
            let (ping, _, at) = try #require(Self.nextPing(&me, after: now))
            _ = me.receive(Self.packet([.ack(sequence: ping.sequence, liveMembers: 2), .coordinate(bad)]),
                           from: T.address(2), now: at + .milliseconds(5))
            #expect(me.coordinateRejections == n + 1)
            now = at + .seconds(1)
        }
        #expect(me.coordinate == Vivaldi.Coordinate())
        #expect(me.coordinate(of: "peer") == nil)
        #expect(me.coordinateUpdates == 0)
    }

    @Test func ackAfterIndirectProbesDoesNotMeasure() throws {
        var me = Self.instance(settings: Self.settled)
        let (ping, _, at) = try #require(Self.nextPing(&me, after: T.t0))
        _ = me.tick(now: at + .seconds(0.6))  // past the probe timeout: indirect probes go out
        _ = me.receive(Self.packet([.ack(sequence: ping.sequence, liveMembers: 2), .coordinate(Self.far)]),
                       from: T.address(2), now: at + .seconds(0.7))
        #expect(me.coordinateUpdates == 0)
        #expect(me.coordinate(of: "peer") == nil)
    }

    @Test func setCoordinateValidatesAndKnowsOnlyMembers() throws {
        var me = Self.instance(settings: Self.settled)
        #expect(try me.setCoordinate(Self.far, of: "peer"))
        #expect(me.coordinate(of: "peer") == Self.far)
        #expect(try !me.setCoordinate(Self.far, of: "stranger"))
        #expect(try me.setCoordinate(Self.far, of: "me"))
        #expect(me.coordinate == Self.far)
        var bad = Self.far
        bad.height = .nan
        #expect(throws: Vivaldi.Rejection.invalid) { try me.setCoordinate(bad, of: "peer") }
        #expect(me.estimatedRoundTrip(from: "me", to: "peer") == Self.far.distance(to: Self.far))
    }

    @Test func reapedMemberTakesItsCoordinateAlong() throws {
        var settings = Self.settled
        settings.reapInterval = .seconds(10)
        var me = Self.instance(settings: settings)
        try me.setCoordinate(Self.far, of: "peer")
        _ = me.receive(T.packet(.dead(SWIM.Accusation(incarnation: 0, name: "peer", from: "peer"))),
                       from: T.address(2), now: T.t0)
        #expect(me.coordinate(of: "peer") == Self.far, "a member that left is kept until reaped")
        _ = me.tick(now: T.t0 + .seconds(30))
        #expect(me.member(named: "peer") == nil)
        #expect(me.coordinate(of: "peer") == nil)
        #expect(me.coordinates.keys.sorted() == ["me"])
    }

    /// A peer from before coordinates does not know kinds 11 and 12: it
    /// reads them as any unknown kind in a compound, and skips them.
    @Test func peersThatPredateCoordinatesStillReadOurPingsAndAcks() throws {
        let ping = SWIM.Ping(sequence: 9, target: "old", source: "me", targetIncarnation: 1)
        for (messages, expected) in [([SWIM.Message.ping(ping), .coordinateRequest], SWIM.Message.ping(ping)),
                                     ([.ack(sequence: 9, liveMembers: 3), .coordinate(Self.far)], .ack(sequence: 9, liveMembers: 3))] {
            var parts = messages.map(SWIM.WireCodec.encode)
            #expect(parts.count == 2, "never sent alone: always in a compound")
            parts[1][0] = 250  // what an old peer sees: a kind it does not know
            #expect(try SWIM.WireCodec.decodePacket(SWIM.WireCodec.packet(parts)) == [expected])
        }
    }
}
