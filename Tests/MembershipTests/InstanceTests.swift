@testable import Membership
@testable import MembershipCore
import Sockets
import Testing

/// The instance driven by hand: inputs in, directives out, time injected.
@Suite struct InstanceTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)
    static func address(_ i: UInt8) -> Endpoint { Endpoint(addressBytes: [127, 3, 0, i], port: 8301)! }

    static func instance(_ name: String = "me", _ i: UInt8 = 1, settings: SWIM.Settings = .lan) -> SWIM.Instance {
        SWIM.Instance(name: name, address: address(i), settings: settings, seed: 1, now: t0)
    }

    static func packet(_ m: SWIM.Message) -> [UInt8] { SWIM.WireCodec.packet([SWIM.WireCodec.encode(m)]) }

    static func sent(_ out: [SWIM.Directive]) -> [(SWIM.Message, Endpoint)] {
        out.flatMap { d -> [(SWIM.Message, Endpoint)] in
            guard case .send(let bytes, let to) = d, let ms = try? SWIM.WireCodec.decodePacket(bytes) else { return [] }
            return ms.map { ($0, to) }
        }
    }

    /// An instance that knows `peers` alive.
    static func withPeers(_ peers: [(String, UInt8)]) -> SWIM.Instance {
        var me = instance()
        for (name, i) in peers {
            _ = me.receive(packet(.alive(SWIM.Alive(incarnation: 0, name: name, address: address(i), meta: []))),
                           from: address(i), now: t0)
        }
        return me
    }

    @Test func pingForUsIsAckedAndPingForAnotherNameIsIgnored() {
        var me = Self.instance()
        let ping = SWIM.Ping(sequence: 42, target: "me", source: "peer")
        let out = me.receive(Self.packet(.ping(ping)), from: Self.address(2), now: Self.t0)
        #expect(Self.sent(out).contains { m, to in m == .ack(sequence: 42, liveMembers: 1) && to == Self.address(2) })

        var misdirected = ping
        misdirected.target = "someone-else"
        #expect(Self.sent(me.receive(Self.packet(.ping(misdirected)), from: Self.address(2), now: Self.t0)).isEmpty)
    }

    @Test func newMemberFromAliveIsJoinedAndRegossiped() {
        var me = Self.instance()
        let alive = SWIM.Alive(incarnation: 0, name: "peer", address: Self.address(2), meta: [7])
        let out = me.receive(Self.packet(.alive(alive)), from: Self.address(2), now: Self.t0)
        #expect(out.contains { if case .event(.joined(let m)) = $0 { m.name == "peer" && m.meta == [7] } else { false } })
        #expect(me.member(named: "peer")?.status == .alive)
        #expect(me.pendingBroadcasts == 2, "our own announcement and the newcomer")
    }

    @Test func unansweredProbeGoesIndirectThenSuspects() throws {
        var me = Self.withPeers([("a", 2), ("b", 3), ("c", 4), ("d", 5)])
        var now = Self.t0
        var probed: (String, Endpoint)?
        // Run ticks until a ping goes out.
        for _ in 0..<40 where probed == nil {
            now = me.nextWakeup
            for (m, to) in Self.sent(me.tick(now: now)) {
                if case .ping(let p) = m { probed = (p.target, to) }
            }
        }
        let target = try #require(probed)
        // No ack: at the probe timeout, ping-req goes to the others.
        now = now + .milliseconds(500)
        let indirect = Self.sent(me.tick(now: now)).filter { if case .indirectPing = $0.0 { true } else { false } }
        #expect(indirect.count == 3)
        #expect(indirect.allSatisfy { $0.1 != target.1 })
        // No ack by the end of the interval: the target becomes suspect.
        now = now + .milliseconds(600)
        _ = me.tick(now: now)
        #expect(me.member(named: target.0)?.status == .suspect)
        #expect(me.healthScore > 0, "missed nacks raise local health awareness")
    }

    @Test func suspicionAboutUsIsRefutedWithHigherIncarnation() {
        var me = Self.withPeers([("a", 2)])
        let rumour = SWIM.Accusation(incarnation: 0, name: "me", from: "a")
        _ = me.receive(Self.packet(.suspect(rumour)), from: Self.address(2), now: Self.t0)
        #expect(me.incarnation == 1)
        #expect(me.member(named: "me")?.status == .alive)
        let out = me.tick(now: me.nextWakeup)
        let gossiped = Self.sent(out).map(\.0)
        #expect(gossiped.contains(.alive(SWIM.Alive(incarnation: 1, name: "me", address: Self.address(1), meta: []))))
    }

    @Test func suspectTimesOutToDeadAndConfirmationsShortenIt() {
        var me = Self.withPeers([("a", 2), ("b", 3), ("c", 4), ("d", 5), ("e", 6)])
        _ = me.receive(Self.packet(.suspect(SWIM.Accusation(incarnation: 0, name: "e", from: "a"))),
                       from: Self.address(2), now: Self.t0)
        let lonely = me.suspicions["e"]?.deadline
        _ = me.receive(Self.packet(.suspect(SWIM.Accusation(incarnation: 0, name: "e", from: "b"))),
                       from: Self.address(3), now: Self.t0)
        let confirmed = me.suspicions["e"]?.deadline
        #expect((confirmed ?? .zero) < (lonely ?? .zero))
        var events: [SWIM.Directive] = []
        var now = Self.t0
        while me.member(named: "e")?.status == .suspect, now < Self.t0 + .seconds(120) {
            now = me.nextWakeup
            events += me.tick(now: now)
        }
        #expect(me.member(named: "e")?.status == .dead)
        #expect(events.contains { if case .event(.failed(let m)) = $0 { m.name == "e" } else { false } })
    }

    @Test func leaveIntentMarksMemberLeftNotFailed() {
        var me = Self.withPeers([("a", 2)])
        let out = me.receive(Self.packet(.dead(SWIM.Accusation(incarnation: 0, name: "a", from: "a"))),
                             from: Self.address(2), now: Self.t0)
        #expect(me.member(named: "a")?.status == .left)
        #expect(out.contains { if case .event(.left) = $0 { true } else { false } })
    }

    @Test func forceLeaveOnlyTouchesFailedMembers() {
        var me = Self.withPeers([("a", 2), ("b", 3)])
        _ = me.receive(Self.packet(.dead(SWIM.Accusation(incarnation: 0, name: "a", from: "b"))),
                       from: Self.address(3), now: Self.t0)
        #expect(me.member(named: "a")?.status == .dead)
        _ = me.forceLeave("a", now: Self.t0)
        #expect(me.member(named: "a")?.status == .left)
        _ = me.forceLeave("b", now: Self.t0)
        #expect(me.member(named: "b")?.status == .alive)
    }

    @Test func failedMembersAreReapedAfterTheReapInterval() {
        var settings = SWIM.Settings.lan
        settings.reapInterval = .seconds(30)
        var me = Self.instance(settings: settings)
        _ = me.receive(Self.packet(.alive(SWIM.Alive(incarnation: 0, name: "a", address: Self.address(2), meta: []))),
                       from: Self.address(2), now: Self.t0)
        _ = me.receive(Self.packet(.dead(SWIM.Accusation(incarnation: 0, name: "a", from: "me"))),
                       from: Self.address(2), now: Self.t0)
        var now = Self.t0
        var reaped = false
        while now < Self.t0 + .seconds(60) && !reaped {
            now = me.nextWakeup
            reaped = me.tick(now: now).contains { if case .event(.reaped) = $0 { true } else { false } }
        }
        #expect(reaped)
        #expect(now - Self.t0 >= .seconds(30))
        #expect(me.member(named: "a") == nil)
    }

    @Test func broadcastQueueSendsLeastSentFirstAndDropsAtLimit() {
        var q = SWIM.BroadcastQueue()
        q.enqueue(key: "a", encoded: [1])
        q.enqueue(key: "b", encoded: [2])
        q.enqueue(key: "a", encoded: [3])  // replaces the older news about a
        #expect(q.count == 2)
        let first = q.take(budget: 1000, overheadPerMessage: 2, limit: 2)
        #expect(Set(first) == [[3], [2]])
        q.enqueue(key: "c", encoded: [4])
        let second = q.take(budget: 3, overheadPerMessage: 2, limit: 2)  // room for one only
        #expect(second == [[4]], "never-sent news goes first")
        _ = q.take(budget: 1000, overheadPerMessage: 2, limit: 2)
        _ = q.take(budget: 1000, overheadPerMessage: 2, limit: 2)
        #expect(q.isEmpty, "each item is dropped after `limit` sends")
    }

    /// An agent with no peer to send to (or updates replacing each other
    /// faster than they go out) kept every stale copy: 200,000 updates of
    /// 5,000 records held 200,000 items, and past the capacity each new one
    /// shifted the whole queue.
    @Test func replacedUpdatesDoNotAccumulateAndTheCapacityHoldsWithoutPeers() {
        var q = SWIM.BroadcastQueue()
        for n in 0..<200_000 { q.enqueue(key: "record:\(n % 5000)", encoded: [UInt8(n & 0xff)]) }
        #expect(q.count <= q.capacity)
        #expect(q.stored <= 2 * q.capacity, "\(q.stored) items held for \(q.count) current ones")
        // The newest update of a key is the one kept and sent.
        var fresh = SWIM.BroadcastQueue()
        for n in 0..<10_000 { fresh.enqueue(key: "k\(n % 10)", encoded: [UInt8(n % 251)]) }
        #expect(fresh.count == 10 && fresh.stored <= 2 * 64)
        let sent = fresh.take(budget: 10_000, overheadPerMessage: 2, limit: 3)
        #expect(Set(sent) == Set((9990..<10_000).map { [UInt8($0 % 251)] }))
    }

    /// A pool's queue of thousands (a catalog record from every member) is
    /// scanned only as far as a packet needs; still every item goes out
    /// exactly `limit` times, the least-sent first, and the count of held
    /// items stays exact.
    @Test func aLargeQueueSendsEveryItemLimitTimesLeastSentFirst() {
        var q = SWIM.BroadcastQueue()
        let n = 1000
        for i in 0..<n { q.enqueue(key: "k\(i)", encoded: Array("k\(i):".utf8) + [UInt8](repeating: 7, count: 10 + i % 90)) }
        var sends = [Int](repeating: 0, count: n)
        var packets = 0
        while !q.isEmpty && packets < 100_000 {
            let floor = sends.filter { $0 < 3 }.min() ?? 3
            let taken = q.take(budget: 1400, overheadPerMessage: 2, limit: 3)
            for (position, message) in taken.enumerated() {
                let id = Int(String(decoding: message.prefix { $0 != UInt8(ascii: ":") }.dropFirst(), as: UTF8.self)) ?? -1
                // The rest of a packet is filled with whatever fits, as in memberlist.
                if position == 0 { #expect(sends[id] == floor, "item \(id) sent \(sends[id]) times leads while one waits at \(floor)") }
                sends[id] += 1
            }
            packets += 1
        }
        #expect(q.isEmpty, "drained in \(packets) packets")
        #expect(sends.allSatisfy { $0 == 3 }, "\(sends.filter { $0 != 3 }.count) items not sent exactly 3 times")
        #expect(q.stored == 0)
    }

    /// Invented members (anyone can send alive messages to a pool without
    /// a key) stop at the member limit and are counted, not kept.
    @Test func membersStopAtTheLimitAndTheRestAreCountedNotKept() {
        var settings = SWIM.Settings.lan
        settings.memberLimit = 10
        var me = Self.instance(settings: settings)
        for n in 0..<50 {
            let alive = SWIM.Alive(incarnation: 0, name: "invented-\(n)", address: Self.address(UInt8(2 + n)), meta: [])
            _ = me.receive(Self.packet(.alive(alive)), from: Self.address(2), now: Self.t0)
        }
        #expect(me.liveMemberCount == 10, "ourselves and nine others")
        #expect(me.counters.membersRefused == 41)
        // A member already known is still updated at the limit.
        let refreshed = SWIM.Alive(incarnation: 5, name: "invented-0", address: Self.address(200), meta: [])
        _ = me.receive(Self.packet(.alive(refreshed)), from: Self.address(2), now: Self.t0)
        #expect(me.member(named: "invented-0")?.address == Self.address(200))
    }
}
