import Primitives

extension Raft {
    /// One server's Raft, as a pure state machine shaped like
    /// `SWIM.Instance`: every input takes the time and appends what the
    /// shell must do to `out`; randomness (the election timeouts) comes
    /// from a seeded generator; the shell asks `nextDeadline` when to tick.
    public struct Node: Sendable {
        public let id: ServerID
        public let settings: Settings
        public internal(set) var hard: HardState
        public internal(set) var log: Log
        public internal(set) var role: Role = .follower
        public internal(set) var leader: ServerID?
        public internal(set) var commitIndex: UInt64
        /// The last index handed to the shell in `apply`.
        public internal(set) var appliedIndex: UInt64
        /// When a leader was last heard from (followers), for
        /// `X-Consul-LastContact` and to refuse disruptive elections.
        public internal(set) var lastLeaderContact: Instant?
        /// The snapshot a lagging follower is sent (the shell's latest).
        var snapshot: Snapshot?

        var rng: SeededRandom
        var electionDeadline: Instant
        var heartbeatDue: Instant = Instant(nanoseconds: .max)
        /// Votes (or pre-votes) granted to us in the current election.
        var votes: Set<ServerID> = []
        /// Leader only.
        var progress: [ServerID: Progress] = [:]
        var sequence: UInt64 = 0
        var quorumCheckDue: Instant = Instant(nanoseconds: .max)
        var pendingReads: [PendingRead] = []
        /// The index of this leader's no-op: reads wait for it to commit.
        var termStartIndex: UInt64 = 0

        struct Progress: Sendable {
            /// The next index to send, and the highest known to match.
            var next: UInt64
            var match: UInt64 = 0
            /// The highest round sequence the follower answered.
            var acknowledged: UInt64 = 0
            /// Whether it answered since the last quorum check.
            var active = false
        }

        struct PendingRead: Sendable {
            var id: UInt64
            var index: UInt64
            var sequence: UInt64
        }

        /// A server starting from what it persisted (nothing, the first time).
        /// `voters` bootstraps a fresh cluster: every server given the same
        /// list writes the same first entry, so they agree without talking.
        public init(id: ServerID, settings: Settings = Settings(), hard: HardState = HardState(),
                    snapshot: Snapshot? = nil, entries: [Entry] = [], now: Instant, seed: UInt64) {
            self.id = id
            self.settings = settings
            self.hard = hard
            self.snapshot = snapshot
            self.log = Log(snapshot: snapshot, entries: entries)
            self.commitIndex = snapshot?.index ?? 0
            self.appliedIndex = snapshot?.index ?? 0
            self.rng = SeededRandom(seed: seed)
            self.electionDeadline = now
            resetElectionTimer(now)
        }

        /// Writes the first configuration entry of a new cluster, unless
        /// this server already has a log or a term. With one voter it
        /// elects itself at the next tick.
        public mutating func bootstrap(voters: [ServerID], into out: inout [Output]) {
            guard log.lastIndex == 0, hard.term == 0 else { return }
            let entry = Entry(term: 1, index: 1, kind: .configuration(voters.sorted()))
            hard.term = 1
            out.append(.saveHardState(hard))
            log.append(entry)
            out.append(.appendLog([entry]))
        }

        public var voters: [ServerID] { log.voters }
        public var isVoter: Bool { voters.contains(id) }
        var quorum: Int { voters.count / 2 + 1 }

        public var nextDeadline: Instant {
            role == .leader ? min(heartbeatDue, quorumCheckDue) : electionDeadline
        }

        /// The election timeout, at random between one and two times the setting.
        mutating func resetElectionTimer(_ now: Instant) {
            let extra = UInt64(max(1, settings.electionTimeout.nanoseconds))
            electionDeadline = now + settings.electionTimeout + .nanoseconds(Int64(rng.next() % extra))
        }

        // MARK: - Inputs

        /// Time passes: elections start, heartbeats go out, a leader that
        /// lost its majority steps down.
        public mutating func tick(now: Instant, into out: inout [Output]) {
            switch role {
            case .leader:
                if now >= quorumCheckDue { checkQuorum(now, into: &out) }
                if role == .leader, now >= heartbeatDue { broadcastAppends(now, into: &out) }
            case .follower, .preCandidate, .candidate:
                // The only voter (`-dev`) need not wait for anyone.
                if now >= electionDeadline || voters == [id] { startPreVote(now, into: &out) }
            }
        }

        /// A message from another server.
        public mutating func receive(_ message: Message, from: ServerID, now: Instant, into out: inout [Output]) {
            switch message.body {
            case .preVote(let lastIndex, let lastTerm):
                answerPreVote(message.term, lastIndex: lastIndex, lastTerm: lastTerm, from: from, now: now, into: &out)
                return
            case .preVoteReply(let granted):
                receivePreVoteReply(message.term, granted: granted, from: from, now: now, into: &out)
                return
            case .vote(let lastIndex, let lastTerm):
                // A vote request while a leader is live is ignored (the
                // dissertation's §4.2.3): a server that was cut off cannot
                // make the cluster elect again.
                if message.term > hard.term, leaderIsLive(now) { return }
                adoptTerm(message.term, now: now, into: &out)
                answerVote(message.term, lastIndex: lastIndex, lastTerm: lastTerm, from: from, now: now, into: &out)
                return
            default:
                break
            }
            guard message.term >= hard.term else {
                // A stale leader learns our term from the failure.
                if case .append = message.body {
                    out.append(.send(to: from, Message(term: hard.term, body: .appendReply(success: false, index: 0, sequence: 0))))
                }
                return
            }
            adoptTerm(message.term, now: now, into: &out)
            switch message.body {
            case .voteReply(let granted):
                receiveVoteReply(granted: granted, from: from, now: now, into: &out)
            case .append(let prevIndex, let prevTerm, let entries, let commit, let sequence):
                followLeader(from, now: now, into: &out)
                receiveAppend(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit,
                              sequence: sequence, from: from, into: &out)
            case .appendReply(let success, let index, let sequence):
                receiveAppendReply(success: success, index: index, sequence: sequence, from: from, now: now, into: &out)
            case .installSnapshot(let snapshot, let sequence):
                followLeader(from, now: now, into: &out)
                receiveSnapshot(snapshot, sequence: sequence, from: from, into: &out)
            case .preVote, .preVoteReply, .vote:
                break
            }
        }

        /// A leader heard within the minimum election timeout.
        func leaderIsLive(_ now: Instant) -> Bool {
            if role == .leader { return true }
            guard leader != nil, let contact = lastLeaderContact else { return false }
            return now - contact < settings.electionTimeout
        }

        /// A higher term seen: we are a follower in it, with no vote yet.
        mutating func adoptTerm(_ term: UInt64, now: Instant, into out: inout [Output]) {
            guard term > hard.term else { return }
            hard = HardState(term: term, votedFor: nil)
            out.append(.saveHardState(hard))
            become(.follower, leader: nil, now: now, into: &out)
        }

        /// An append or snapshot from the leader of our term.
        mutating func followLeader(_ from: ServerID, now: Instant, into out: inout [Output]) {
            lastLeaderContact = now
            resetElectionTimer(now)
            if role != .follower || leader != from { become(.follower, leader: from, now: now, into: &out) }
        }

        mutating func become(_ newRole: Role, leader newLeader: ServerID?, now: Instant, into out: inout [Output]) {
            let wasLeader = role == .leader
            role = newRole
            leader = newLeader
            votes = []
            if wasLeader && newRole != .leader {
                progress = [:]
                for read in pendingReads { out.append(.readFailed(id: read.id)) }
                pendingReads = []
                heartbeatDue = Instant(nanoseconds: .max)
                quorumCheckDue = Instant(nanoseconds: .max)
            }
            if newRole != .leader { resetElectionTimer(now) }
            out.append(.roleChanged(newRole, leader: newLeader))
        }
    }
}
