import Primitives

extension SWIM {
    /// Every tunable of the protocol, with memberlist's well-known presets.
    /// Formulas are given where a value is derived from the pool size N.
    public struct Settings: Sendable {
        /// Time between probes of one member (SWIM 4.3), scaled by local health.
        public var probeInterval: Duration
        /// Wait for a direct ack before asking others to probe (ping-req).
        public var probeTimeout: Duration
        /// k: members asked to probe indirectly.
        public var indirectChecks: Int
        /// Suspicion timeout min = suspicionMultiplier × max(1, log10(N)) × probeInterval.
        public var suspicionMultiplier: Int
        /// Lifeguard: a fresh suspicion starts at this × the min timeout and
        /// shrinks towards the min with independent confirmations.
        public var suspicionMaxTimeoutMultiplier: Int
        /// Our addition to Lifeguard: pings to a suspect tell it that it is
        /// suspected, and it refutes in its ack; so once k independent
        /// members have confirmed (each after its own failed direct and
        /// indirect probe, i.e. after the suspect had a direct chance to
        /// refute) the timeout may fall to this floor instead of
        /// memberlist's min. Unconfirmed suspicions keep memberlist's
        /// timeouts; with too few members to confirm, its min applies.
        public var confirmedSuspicionTimeout: Duration
        /// Each broadcast is sent retransmitMultiplier × ⌈log10(N+1)⌉ times.
        public var retransmitMultiplier: Int
        /// Gossip tick: piggybacked updates go to `gossipNodes` random members.
        public var gossipInterval: Duration
        public var gossipNodes: Int
        /// Dead members still receive gossip this long, so they can refute.
        public var gossipToTheDead: Duration
        /// Full-state TCP exchange. Above 32 members the interval grows:
        /// interval × (⌈log2(N) − log2(32)⌉ + 1).
        public var pushPullInterval: Duration
        /// How often a failed (not left) member is asked for a push/pull, so
        /// that pools split by a partition find each other again (Serf's
        /// reconnect).
        public var reconnectInterval: Duration = .seconds(10)
        /// Least time between two push/pulls started because a peer's ping
        /// or ack showed it knows more live members than we do.
        public var viewSyncCooldown: Duration = .seconds(5)
        /// Lifeguard local health: timeouts are multiplied by (score + 1), score < this.
        public var awarenessMaxMultiplier: Int
        /// Failed members are removed after this long; left ones likewise.
        public var reapInterval: Duration
        /// Largest UDP payload we send.
        public var packetSize: Int
        /// The largest user broadcast (the layer above's message) a packet
        /// carries, with room for the framing around it.
        public var userBroadcastLimit: Int { packetSize - 64 }
        /// Largest node metadata accepted.
        public var metaLimit: Int = 512
        /// Members known at once, dead and left ones until reaped included:
        /// news of more is ignored (and counted), so a stranger's stream of
        /// invented members cannot grow the pool without bound.
        public var memberLimit: Int = 16384
        /// TCP push/pull connect and exchange timeout.
        public var tcpTimeout: Duration
        /// Network coordinates, computed from the round trips of direct probes.
        public var vivaldi = Vivaldi.Settings()
        /// Off (`disable_coordinates`): probes neither ask for nor carry
        /// coordinates, and round trips move nothing (Serf's DisableCoordinates).
        public var coordinatesEnabled = true
        /// Serf sends its coordinate in every ack; we send it when asked.
        /// A probe asks its target for a fresh coordinate when it has none
        /// of it, and otherwise at most once per this interval (whichever
        /// member is probed then): about 60 bytes per interval per agent.
        /// Between refreshes each probe updates our coordinate against the
        /// last one we have of its target.
        public var coordinateRefreshInterval: Duration = .seconds(15)
        /// While its coordinate's error estimate is above
        /// `coordinateSettledError`, for at most its first this-many
        /// updates (a fresh start), a node asks on every probe and puts
        /// its coordinate in every ack, as Serf does: coordinates converge
        /// only against peers' current positions, not remembered ones.
        public var coordinateWarmupUpdates = 300
        public var coordinateSettledError = 0.05

        /// memberlist's DefaultLANConfig.
        public static var lan: Settings {
            Settings(probeInterval: .seconds(1), probeTimeout: .milliseconds(500), indirectChecks: 3,
                     suspicionMultiplier: 4, suspicionMaxTimeoutMultiplier: 6,
                     confirmedSuspicionTimeout: .milliseconds(1500), retransmitMultiplier: 4,
                     gossipInterval: .milliseconds(200), gossipNodes: 3, gossipToTheDead: .seconds(30),
                     pushPullInterval: .seconds(30), awarenessMaxMultiplier: 8, reapInterval: .seconds(24 * 3600),
                     packetSize: 1400, tcpTimeout: .seconds(10))
        }

        /// memberlist's DefaultWANConfig: slower, more tolerant of latency and loss.
        public static var wan: Settings {
            var s = lan
            s.probeInterval = .seconds(5)
            s.probeTimeout = .seconds(3)
            s.suspicionMultiplier = 6
            s.confirmedSuspicionTimeout = .seconds(10)
            s.gossipInterval = .milliseconds(500)
            s.gossipNodes = 4
            s.gossipToTheDead = .seconds(60)
            s.pushPullInterval = .seconds(60)
            s.tcpTimeout = .seconds(30)
            s.reconnectInterval = .seconds(30)
            s.coordinateRefreshInterval = .seconds(30)
            s.coordinateWarmupUpdates = 120
            return s
        }

        /// memberlist's DefaultLocalConfig: one host, fast failure detection.
        public static var local: Settings {
            var s = lan
            s.probeInterval = .seconds(1)
            s.probeTimeout = .milliseconds(200)
            s.indirectChecks = 1
            s.suspicionMultiplier = 3
            s.confirmedSuspicionTimeout = .seconds(1)
            s.retransmitMultiplier = 2
            s.gossipInterval = .milliseconds(100)
            s.gossipToTheDead = .seconds(15)
            s.pushPullInterval = .seconds(15)
            s.tcpTimeout = .seconds(1)
            return s
        }
    }
}
