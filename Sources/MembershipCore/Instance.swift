import Glibc
import Primitives

extension SWIM {
    /// The SWIM + Lifeguard protocol as a pure state machine. Every input
    /// (`receive`, `tick`, `mergePushPull`, `leave`…) takes the current time
    /// and returns directives for the shell; the instance never reads a
    /// clock, touches a socket or draws unseeded randomness.
    ///
    /// The shell MUST call `tick(now:)` no later than `nextWakeup`, MUST
    /// carry out directives in order, and MUST feed every datagram received
    /// to `receive(_:from:now:)`.
    public struct Instance: Sendable {
        public let settings: Settings
        public let name: String
        public let address: Endpoint
        public internal(set) var incarnation: UInt32 = 0
        public internal(set) var meta: [UInt8]
        public internal(set) var isLeaving = false

        /// Every known member, this node included, in probe order.
        var nodes: [Member] = []
        var index: [String: Int] = [:]
        /// Members alive or suspect, this node included.
        var liveCount = 0
        var probeCursor = 0
        var probe: ProbeInFlight?
        var relays: [UInt32: Relay] = [:]
        var suspicions: [String: Suspicion] = [:]
        var broadcasts = BroadcastQueue()
        var awareness: Awareness
        var random: SeededRandom
        var sequence: UInt32 = 0
        var userBroadcastCounter: UInt64 = 0
        /// Our network coordinate and the last coordinate each member sent
        /// us (members only: dropped with the member).
        var vivaldi: Vivaldi.Client
        var peerCoordinates: [String: Vivaldi.Coordinate] = [:]
        var nextCoordinateRefreshAt: Instant
        public internal(set) var coordinateRejections = 0
        /// What metrics report (the shell adds the bytes on the wire).
        public internal(set) var counters = GossipCounters()

        var nextProbeAt: Instant
        var nextGossipAt: Instant
        var lastGossipAt: Instant
        var nextPushPullAt: Instant
        var nextReapAt: Instant
        var nextReconnectAt: Instant
        var nextViewSyncAt: Instant

        struct ProbeInFlight {
            var sequence: UInt32
            var target: String
            var sentAt: Instant
            var timeoutAt: Instant
            var indirectSent = false
            var acked = false
            var expectedNacks = 0
            var nacks = 0
        }

        /// A ping we send on behalf of another member's ping-req.
        struct Relay {
            var requester: Endpoint
            var originalSequence: UInt32
            var wantsNack: Bool
            var deadline: Instant
        }

        public init(name: String, address: Endpoint, meta: [UInt8] = [], settings: Settings,
                    seed: UInt64, now: Instant) {
            self.settings = settings
            self.name = name
            self.address = address
            self.meta = Array(meta.prefix(settings.metaLimit))
            self.awareness = Awareness(maximum: settings.awarenessMaxMultiplier)
            self.random = SeededRandom(seed: seed)
            // Its own stream, so adding coordinates left the protocol's draws as they were.
            self.vivaldi = Vivaldi.Client(settings: settings.vivaldi, seed: seed ^ 0x7669_7661_6c64_6921)
            nextCoordinateRefreshAt = now + settings.coordinateRefreshInterval
            // Stagger the first probe and push/pull so that agents started
            // together do not move in lockstep.
            var r = random
            nextProbeAt = now + settings.probeInterval * Double.random(in: 0.1...1, using: &r)
            nextGossipAt = now + settings.gossipInterval
            lastGossipAt = now
            nextPushPullAt = now + settings.pushPullInterval * Double.random(in: 1...2, using: &r)
            nextReapAt = now + Instance.reapCheckInterval(settings)
            nextReconnectAt = now + settings.reconnectInterval
            nextViewSyncAt = now
            random = r
            let me = Member(name: name, address: address, meta: self.meta, incarnation: 0, status: .alive, since: now)
            insert(me)
            // Announce ourselves: after a join this reaches members the seed has not told yet.
            enqueue(.alive(selfAlive), about: name)
        }

        static func reapCheckInterval(_ s: Settings) -> Duration {
            max(.seconds(1), min(s.reapInterval / 10, .seconds(60)))
        }

        // MARK: - Views

        /// Every known member (this node included), sorted by name.
        public var members: [Member] { nodes.sorted { $0.name < $1.name } }
        public func member(named name: String) -> Member? { index[name].map { nodes[$0] } }
        public var memberCount: Int { nodes.count }
        public var liveMemberCount: Int { liveCount }
        /// Lifeguard local-health score (0 is healthy).
        public var healthScore: Int { awareness.score }
        public var pendingBroadcasts: Int { broadcasts.count }

        /// The latest time by which `tick(now:)` must run.
        public var nextWakeup: Instant {
            var t = min(nextGossipAt, nextReapAt)
            if !isLeaving { t = min(t, min(nextProbeAt, min(nextPushPullAt, nextReconnectAt))) }
            if let p = probe, !p.acked, !p.indirectSent { t = min(t, p.timeoutAt) }
            for s in suspicions.values { t = min(t, s.deadline) }
            for r in relays.values { t = min(t, r.deadline) }
            return t
        }

        // MARK: - Bookkeeping shared by the handlers

        mutating func nextSequence() -> UInt32 {
            sequence &+= 1
            return sequence
        }

        /// retransmitMultiplier × ⌈log10(N + 1)⌉
        var retransmitLimit: Int {
            settings.retransmitMultiplier * Int(ceil(log10(Double(liveCount + 1))))
        }

        mutating func insert(_ member: Member) {
            nodes.append(member)
            // A random slot in the probe order, so a newcomer is probed soon
            // on some members and late on others (memberlist does the same).
            let slot = Int.random(in: 0..<nodes.count, using: &random)
            nodes.swapAt(slot, nodes.count - 1)
            index[nodes[slot].name] = slot
            index[nodes[nodes.count - 1].name] = nodes.count - 1
            if member.status.isLive { liveCount += 1 }
        }

        mutating func remove(at i: Int) {
            let gone = nodes[i]
            if gone.status.isLive { liveCount -= 1 }
            index[gone.name] = nil
            let last = nodes.count - 1
            if i != last {
                nodes[i] = nodes[last]
                index[nodes[i].name] = i
            }
            nodes.removeLast()
            suspicions[gone.name] = nil
            peerCoordinates[gone.name] = nil
            vivaldi.forget(gone.name)
        }

        mutating func setStatus(_ i: Int, _ status: Status, now: Instant) {
            let old = nodes[i].status
            if old.isLive != status.isLive { liveCount += status.isLive ? 1 : -1 }
            if old != status { nodes[i].since = now }
            nodes[i].status = status
        }

        /// Up to `k` random members for which `accept` holds, excluding this node.
        mutating func randomMembers(_ k: Int, where accept: (Member) -> Bool) -> [Member] {
            guard k > 0, nodes.count > 1 else { return [] }
            var picked: [Member] = []
            var seen = Set<Int>()
            // Bounded tries: 3 × N, as memberlist's kRandomNodes.
            for _ in 0..<(3 * nodes.count) {
                let i = Int.random(in: 0..<nodes.count, using: &random)
                guard seen.insert(i).inserted else { continue }
                let m = nodes[i]
                if m.name != name && accept(m) {
                    picked.append(m)
                    if picked.count == k { break }
                }
                if seen.count == nodes.count { break }
            }
            return picked
        }

        /// Queues a membership update for gossip, replacing older news about
        /// the same node. News goes out promptly (at most every quarter
        /// gossip interval) instead of waiting for the next tick:
        /// dissemination then costs network latency per hop, not a tick,
        /// and steady state is unchanged (no news, no gossip).
        mutating func enqueue(_ message: Message, about node: String) {
            nextGossipAt = min(nextGossipAt, lastGossipAt + settings.gossipInterval / 4)
            broadcasts.enqueue(key: node, encoded: WireCodec.encode(message))
        }

        /// Sends `message` with as many queued updates piggybacked as fit.
        mutating func send(_ message: Message, to target: Endpoint, _ out: inout [Directive]) {
            send([message], to: target, &out)
        }

        /// Sends `messages` in one packet, then as many queued updates as fit.
        mutating func send(_ messages: [Message], to target: Endpoint, _ out: inout [Directive]) {
            let head = messages.map(WireCodec.encode)
            let used = head.reduce(0) { $0 + $1.count }
            let budget = settings.packetSize - WireCodec.compoundOverhead(parts: head.count) - used
            let extra = broadcasts.take(budget: budget, overheadPerMessage: 2, limit: retransmitLimit)
            out.append(.send(WireCodec.packet(head + extra), to: target))
        }
    }
}
