import MembershipCore
import Primitives

extension Catalog {
    /// The catalog's replication as a pure state machine, shaped like
    /// `SWIM.Instance`: the owner's records and this replica of everyone
    /// else's, changed only by inputs (a local change, a gossip message, a
    /// push/pull state, a membership event, housekeeping), each taking the
    /// time, and answering with what the shell must do (`Output`). No clock,
    /// no randomness, no disk, no pool: `CatalogSync` carries the outputs out
    /// on a real loop, the simulator on a virtual network.
    public struct Sync: Sendable {
        /// What the shell must do, in order, after an input.
        public enum Output: Sendable, Equatable {
            /// Make these bytes durable: the local record (`saveLocal`) is
            /// rewritten whole from `local`; an external change is one entry
            /// of the external nodes' journal (`JournalEntry`). Listed
            /// before the gossip that announces the change.
            case saveLocal
            case saveExternal([UInt8])
            /// Gossip a user broadcast; a later one with the same key
            /// replaces it in the queue.
            case broadcast([UInt8], key: String)
            /// Ask this member (by name) for a push/pull exchange: it holds
            /// records we lack. `evenIfFailed`: the member just spoke (a
            /// notice), so it is asked unless it left; otherwise only while live.
            case pull(from: String, evenIfFailed: Bool)
            /// The replica changed: blocking queries and aliases look again.
            case changed
        }

        /// The two clocks an input happens at: the monotonic one (tombstone
        /// lifetimes) and the wall clock in ms (record versions keep rising
        /// across restarts, even without a data directory).
        public struct Time: Sendable {
            public var now: Instant
            public var wallMillis: UInt64
            public init(now: Instant, wallMillis: UInt64) {
                self.now = now
                self.wallMillis = wallMillis
            }
        }

        public enum MessageKind: UInt8, Sendable {
            /// A whole node record (when it fits in a gossip packet).
            case record = 1
            /// node, owner, version: fetch the record by push/pull with the owner.
            case notice = 2
            /// node, owner, version: the record is gone (an external node deregistered).
            case removal = 3
            /// An ACL entry (the agent's `ACLStore`), whole when it fits;
            /// else writer, kind, id, version. Carried for the shell.
            case acl = 4
            case aclNotice = 5
            /// A user event. Carried for the shell.
            case event = 6
        }

        /// What one entry of the external nodes' journal says.
        public enum JournalEntry: UInt8, Sendable {
            /// A node's whole record (`RecordCodec.encode`).
            case record = 1
            /// A node name: the node was deregistered.
            case removal = 2
        }

        public var replica = Replica()
        /// This agent's own node record: the registrations it is the source of truth for.
        public internal(set) var local: NodeRecord
        /// Nodes registered through this agent (`/v1/catalog/register`): it owns them.
        public internal(set) var external: [String: NodeRecord] = [:]
        /// The largest user broadcast the pool carries; a bigger record
        /// travels as a notice and is pulled.
        public let broadcastLimit: Int
        /// The newest version announced by a notice, by node (and by "acl:"
        /// key for the shell's ACL notices): acted on and passed on once.
        /// Swept by `housekeep`.
        public internal(set) var noticed: [String: UInt64] = [:]
        /// Notices waiting for their record are kept up to this many; past
        /// it some are forgotten (a forgotten notice is only acted on again).
        public static let noticedLimit = 4096
        /// At most this many owners are asked after one merge; the rest
        /// arrive with later exchanges.
        public static let pullsPerMerge = 4

        public init(local: NodeRecord, broadcastLimit: Int) {
            self.local = local
            self.broadcastLimit = broadcastLimit
        }

        // MARK: - The local record

        /// Takes the local record as the data directory kept it, without
        /// publishing (`publishLocal` follows once the shell is ready).
        public mutating func restore(services: [Service], checks: [Check], version: UInt64) {
            local.services = services
            local.checks = checks
            local.version = version
        }

        /// Changes the local record and publishes it.
        public mutating func updateLocal(at time: Time, into out: inout [Output], _ change: (inout NodeRecord) -> Void) {
            change(&local)
            publishLocal(at: time, into: &out)
        }

        /// Raises the local record's version, persists, gossips and applies it.
        public mutating func publishLocal(at time: Time, into out: inout [Output]) {
            local.version = Self.nextVersion(after: local.version, wallMillis: time.wallMillis)
            out.append(.saveLocal)
            out.append(gossip(local, encoded: RecordCodec.encode(local)))
            apply(local, at: time, into: &out)
        }

        /// The next version of a record: above the last, and at least the wall clock in ms.
        public static func nextVersion(after previous: UInt64, wallMillis: UInt64) -> UInt64 {
            max(previous + 1, wallMillis)
        }

        /// A record as gossip carries it: whole when it fits, else a notice.
        func gossip(_ record: NodeRecord, encoded: [UInt8]) -> Output {
            var w = ByteWriter(capacity: encoded.count + 1)
            if encoded.count + 1 <= broadcastLimit {
                w.u8(MessageKind.record.rawValue)
                w.bytes.append(contentsOf: encoded)
            } else {
                w.u8(MessageKind.notice.rawValue)
                w.string16(record.node); w.string16(record.owner); w.u64(record.version)
            }
            return .broadcast(w.bytes, key: "catalog:" + record.node)
        }

        @discardableResult
        mutating func apply(_ record: NodeRecord, at time: Time, into out: inout [Output]) -> Bool {
            guard replica.apply(record, now: time.now) else { return false }
            out.append(.changed)
            return true
        }

        /// Applies a record from a peer. A copy of our own record that is
        /// newer than ours, or as new but different (left by a previous
        /// run), is outvoted by republishing. Our current record coming back
        /// (peers re-gossip what they learn) is not: republishing that would
        /// bounce between peers forever. True when the replica took it.
        @discardableResult
        mutating func receive(_ record: NodeRecord, at time: Time, into out: inout [Output]) -> Bool {
            if record.node == local.node && record.owner == local.owner {
                if record.version > local.version || (record.version == local.version && record != local) {
                    local.version = record.version
                    publishLocal(at: time, into: &out)
                }
                return false
            }
            return apply(record, at: time, into: &out)
        }

        /// The version of a record this agent owns, nil for others'.
        func ownedVersion(_ node: String) -> UInt64? {
            node == local.node ? local.version : external[node]?.version
        }

        /// Publishes an owned record again with a version above `version`.
        mutating func republishOwned(_ node: String, after version: UInt64, at time: Time, into out: inout [Output]) {
            if node == local.node {
                local.version = max(local.version, version)
                publishLocal(at: time, into: &out)
            } else if var record = external[node] {
                record.version = max(record.version, version)
                publishExternal(record, at: time, into: &out)
            }
        }
    }
}
