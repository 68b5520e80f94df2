import Primitives

/// Raft among the servers of a datacenter, as a pure state machine
/// (`Raft.Node`): the Raft paper's election, log replication, commitment
/// and safety rules, with pre-vote and check-quorum (a server cut off and
/// back cannot disrupt the cluster), read-index for consistent reads, log
/// compaction with snapshots, and one-at-a-time membership changes.
public enum Raft {}

extension Raft {
    /// A server's name (the node name of the LAN pool).
    public typealias ServerID = String

    /// One log entry. Indexes start at 1; index 0 / term 0 is "nothing".
    public struct Entry: Sendable, Equatable {
        public var term: UInt64
        public var index: UInt64
        public var kind: Kind

        public enum Kind: Sendable, Equatable {
            /// A command for the state machine (the KV store's operations).
            case command([UInt8])
            /// Appended by each new leader: commits the entries of earlier
            /// terms (the paper's §5.4.2) and makes reads possible.
            case noop
            /// The voters from this entry on (in effect once appended).
            case configuration([ServerID])
        }

        public init(term: UInt64, index: UInt64, kind: Kind) {
            self.term = term
            self.index = index
            self.kind = kind
        }
    }

    /// What must be durable before a vote or an append is answered.
    public struct HardState: Sendable, Equatable {
        public var term: UInt64
        public var votedFor: ServerID?
        public init(term: UInt64 = 0, votedFor: ServerID? = nil) {
            self.term = term
            self.votedFor = votedFor
        }
    }

    /// A snapshot: the state machine as of `index` (its bytes are the
    /// shell's), with the configuration in effect there.
    public struct Snapshot: Sendable, Equatable {
        public var index: UInt64
        public var term: UInt64
        public var voters: [ServerID]
        public var data: [UInt8]
        public init(index: UInt64, term: UInt64, voters: [ServerID], data: [UInt8]) {
            self.index = index
            self.term = term
            self.voters = voters
            self.data = data
        }
    }

    public enum Role: String, Sendable {
        case follower, preCandidate, candidate, leader
    }

    public struct Settings: Sendable {
        /// How often a leader sends appends when it has nothing new.
        public var heartbeatInterval: Duration = .milliseconds(100)
        /// A follower that hears no leader for this long (plus up to as
        /// much again, at random) starts an election; a leader that has not
        /// heard from a majority for this long steps down (check-quorum).
        public var electionTimeout: Duration = .milliseconds(1000)
        /// Entries in one append message, and entries sent but not yet
        /// acknowledged per follower.
        public var maxEntriesPerAppend = 64
        public var maxInflightEntries = 512

        public init() {}
        /// For loopback and the simulator: ten times faster.
        public static var fast: Settings {
            var s = Settings()
            s.heartbeatInterval = .milliseconds(10)
            s.electionTimeout = .milliseconds(100)
            return s
        }
    }

    /// A message between servers. `term` is the sender's (a pre-vote's is
    /// the term the sender would stand in).
    public struct Message: Sendable, Equatable {
        public var term: UInt64
        public var body: Body

        public enum Body: Sendable, Equatable {
            case preVote(lastIndex: UInt64, lastTerm: UInt64)
            case preVoteReply(granted: Bool)
            case vote(lastIndex: UInt64, lastTerm: UInt64)
            case voteReply(granted: Bool)
            /// `sequence` numbers the leader's rounds: a reply echoes it,
            /// and read-index waits for a majority at or past a read's.
            case append(prevIndex: UInt64, prevTerm: UInt64, entries: [Entry], commit: UInt64, sequence: UInt64)
            /// On success `index` is the last index known to match; on
            /// failure, where the leader should try next (a hint).
            case appendReply(success: Bool, index: UInt64, sequence: UInt64)
            case installSnapshot(Snapshot, sequence: UInt64)
        }

        public init(term: UInt64, body: Body) {
            self.term = term
            self.body = body
        }
    }

    /// What the shell must do, in order. Everything persistent (hard
    /// state, log changes, a received snapshot) must be durable before any
    /// output after it is carried out: votes and acknowledgements follow
    /// the writes they promise.
    public enum Output: Sendable, Equatable {
        case saveHardState(HardState)
        /// Removes every entry above `index` (a conflicting suffix).
        case truncateLog(after: UInt64)
        case appendLog([Entry])
        /// A snapshot from the leader: keep it, replace the state machine
        /// with it, and drop the entries up to its index (a `truncateLog`
        /// before it drops those after, when they disagree with it).
        case installSnapshot(Snapshot)
        case send(to: ServerID, Message)
        /// Committed entries, in order: apply them to the state machine.
        case apply([Entry])
        /// A consistent read may be answered once the state machine has
        /// applied `index`.
        case readReady(id: UInt64, index: UInt64)
        /// This server cannot serve the read (it is not, or no longer, the leader).
        case readFailed(id: UInt64)
        /// The role or the known leader changed.
        case roleChanged(Role, leader: ServerID?)
    }
}
