import Primitives

extension Catalog {
    /// One agent's copy of the datacenter's catalog: node records keyed by
    /// node name, the highest version of each kept. Pure: the agent feeds
    /// it records from gossip, push/pull and its own registry.
    public struct Replica: Sendable {
        public private(set) var records: [String: NodeRecord] = [:]
        /// Raised on every change: Consul's `X-Consul-Index` (never 0).
        public private(set) var index: UInt64 = 1
        /// Removed records, remembered for `tombstoneLifetime` so that an
        /// older copy still in flight cannot bring a record back.
        private var tombstones: [String: (version: UInt64, expires: Instant)] = [:]
        public var tombstoneLifetime: Duration = .seconds(600)
        /// Consul's CreateIndex / ModifyIndex of each record's node, service
        /// and check entries: the index at which this replica first saw the
        /// entry and last saw it change.
        public private(set) var indexes: [String: EntryIndexes] = [:]
        /// `RecordCodec.fingerprint` of each record, kept for the digests.
        private var fingerprints: [String: UInt32] = [:]

        public init() {}

        /// Keeps `record` if it is newer than what we hold (or than a
        /// tombstone). Returns true when the replica changed.
        @discardableResult
        public mutating func apply(_ record: NodeRecord, now: Instant) -> Bool {
            if let stone = tombstones[record.node] {
                guard record.version > stone.version else { return false }
                tombstones[record.node] = nil
            }
            let current = records[record.node]
            if let current {
                guard Self.supersedes(record.version, record.owner, current.version, current.owner) else { return false }
                if current == record { return false }
            }
            records[record.node] = record
            fingerprints[record.node] = RecordCodec.fingerprint(record)
            index += 1
            if let current, let known = indexes[record.node] {
                indexes[record.node] = known.updated(from: current, to: record, at: index)
            } else {
                indexes[record.node] = EntryIndexes(first: record, at: index)
            }
            return true
        }

        /// Whether `apply` could take a record of `node` at (version, owner):
        /// above any tombstone, and superseding the copy held.
        public func wouldTake(node: String, owner: String, version: UInt64) -> Bool {
            if let stone = tombstones[node], version <= stone.version { return false }
            guard let current = records[node] else { return true }
            return Self.supersedes(version, owner, current.version, current.owner)
        }

        /// Whether a copy at (version, owner) replaces one at (heldVersion,
        /// heldOwner): the higher version; for equal versions from two
        /// owners the owner name breaks the tie, the same way everywhere.
        public static func supersedes(_ version: UInt64, _ owner: String, _ heldVersion: UInt64, _ heldOwner: String) -> Bool {
            version > heldVersion || (version == heldVersion && owner > heldOwner)
        }

        /// Removes a node's record as of `version` (a deregistration, or
        /// a member that left). Returns true when the replica changed.
        @discardableResult
        public mutating func remove(node: String, version: UInt64, now: Instant) -> Bool {
            if let current = records[node], current.version > version { return false }
            // A removal heard again (every digest carries it) keeps its
            // expiry: extended on each hearing, replicas would keep each
            // other's tombstones alive for ever.
            if let held = tombstones[node], held.version >= version {
                // Nothing newer: the tombstone stands as it was.
            } else {
                tombstones[node] = (version, now + tombstoneLifetime)
            }
            guard records.removeValue(forKey: node) != nil else { return false }
            indexes[node] = nil
            fingerprints[node] = nil
            index += 1
            return true
        }

        /// Removes every record `owner` holds (the agent left or was reaped).
        @discardableResult
        public mutating func removeOwned(by owner: String, now: Instant) -> [String] {
            let gone = records.values.filter { $0.owner == owner }.map { ($0.node, $0.version) }
            for (node, version) in gone { remove(node: node, version: version, now: now) }
            return gone.map(\.0)
        }

        public mutating func expireTombstones(now: Instant) {
            tombstones = tombstones.filter { $0.value.expires > now }
        }

        /// Marks a change that lives outside the records (a node's gossip
        /// health), so blocking queries wake up.
        public mutating func touch() { index += 1 }

        public func record(_ node: String) -> NodeRecord? { records[node] }

        /// The content fingerprint of the record held for `node` (0 when none).
        public func fingerprint(_ node: String) -> UInt32 { fingerprints[node] ?? 0 }

        /// The version each live tombstone removed, by node.
        public var tombstoneVersions: [String: UInt64] { tombstones.mapValues(\.version) }

        /// The version a live tombstone removed, if `node` has one.
        public func tombstoneVersion(_ node: String) -> UInt64? { tombstones[node]?.version }
    }
}
