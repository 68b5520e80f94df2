import Primitives

/// Consul's KV store as a deterministic state machine: the servers apply
/// the same commands (from the Raft log) at the same indexes and so hold
/// the same store. Every change is stamped with the index of the log entry
/// that made it: Consul's CreateIndex, ModifyIndex and X-Consul-Index.
public struct KVStore: Sendable, Equatable {
    public struct Pair: Sendable, Equatable {
        public var key: String
        public var flags: UInt64
        public var value: [UInt8]
        public var createIndex: UInt64
        public var modifyIndex: UInt64
        /// How many times the key's lock was acquired.
        public var lockIndex: UInt64
        /// The session holding the key's lock ("" when unlocked).
        public var session: String

        public init(key: String, flags: UInt64 = 0, value: [UInt8] = [], createIndex: UInt64 = 0,
                    modifyIndex: UInt64 = 0, lockIndex: UInt64 = 0, session: String = "") {
            self.key = key
            self.flags = flags
            self.value = value
            self.createIndex = createIndex
            self.modifyIndex = modifyIndex
            self.lockIndex = lockIndex
            self.session = session
        }
    }

    public internal(set) var pairs: [String: Pair] = [:]
    /// Deleted keys and the index that deleted them, so a blocking query on
    /// a prefix wakes up (and its index moves) when a key under it goes.
    public internal(set) var tombstones: [String: UInt64] = [:]
    /// The index of the last change to the store.
    public internal(set) var index: UInt64 = 0
    /// Sessions that exist: their ID and what happens to their locks when
    /// they end. Their lifetime (TTL, checks) is decided outside, by the
    /// leader proposing `destroySession`.
    public internal(set) var sessions: [String: Session] = [:]

    public struct Session: Sendable, Equatable {
        public var id: String
        public var node: String
        /// `release` (locks are released) or `delete` (locked keys are deleted).
        public var deletesLocks: Bool
        public var createIndex: UInt64
        public init(id: String, node: String, deletesLocks: Bool = false, createIndex: UInt64 = 0) {
            self.id = id
            self.node = node
            self.deletesLocks = deletesLocks
            self.createIndex = createIndex
        }
    }

    public init() {}

    // MARK: - Reads

    public func get(_ key: String) -> Pair? { pairs[key] }

    /// Every pair whose key starts with `prefix`, sorted by key.
    public func list(prefix: String) -> [Pair] {
        pairs.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
    }

    /// Consul's `?keys&separator=`: the keys under `prefix`, each cut just
    /// after the first `separator` following the prefix (so "folders"
    /// appear once), sorted.
    public func keys(prefix: String, separator: String?) -> [String] {
        var out: Set<String> = []
        for key in pairs.keys where key.hasPrefix(prefix) {
            guard let separator, !separator.isEmpty else { out.insert(key); continue }
            let rest = key.dropFirst(prefix.count)
            if let range = rest.firstRange(of: separator) {
                out.insert(prefix + rest[..<range.upperBound])
            } else {
                out.insert(key)
            }
        }
        return out.sorted()
    }

    /// X-Consul-Index for a read of `prefix` (a key read is a prefix read
    /// of the key itself): the newest change of a pair or a tombstone under
    /// it; with none, the store's index (a blocking query on a missing key
    /// then wakes at the next change anywhere, and looks again).
    public func index(prefix: String) -> UInt64 {
        var newest: UInt64 = 0
        for pair in pairs.values where pair.key.hasPrefix(prefix) { newest = max(newest, pair.modifyIndex) }
        for (key, at) in tombstones where key.hasPrefix(prefix) { newest = max(newest, at) }
        return newest > 0 ? newest : max(index, 1)
    }

    /// Forgets tombstones at or below `index` (once no blocking query can
    /// still need them); they would otherwise grow with every delete.
    public mutating func reapTombstones(through index: UInt64) {
        tombstones = tombstones.filter { $0.value > index }
    }

    // MARK: - Changes

    /// Applies one command at log index `at`; the answer the client gets
    /// (Consul's `true`/`false` for the conditional ones).
    @discardableResult
    public mutating func apply(_ command: KVCommand, at logIndex: UInt64) -> Bool {
        switch command {
        case .set(let key, let value, let flags):
            write(key, value, flags, at: logIndex)
            return true
        case .checkAndSet(let key, let value, let flags, let expected):
            // 0: only if the key does not exist; else only at that ModifyIndex.
            guard expected == 0 ? pairs[key] == nil : pairs[key]?.modifyIndex == expected else { return false }
            write(key, value, flags, at: logIndex)
            return true
        case .delete(let key):
            remove(key, at: logIndex)
            return true
        case .deleteCheckAndSet(let key, let expected):
            // As Consul's state store: a key already gone is a success; one
            // at another ModifyIndex is not deleted.
            guard let pair = pairs[key] else { return true }
            guard pair.modifyIndex == expected else { return false }
            remove(key, at: logIndex)
            return true
        case .deleteTree(let prefix):
            for key in pairs.keys where key.hasPrefix(prefix) { remove(key, at: logIndex) }
            return true
        case .acquire(let key, let value, let flags, let session):
            guard sessions[session] != nil else { return false }
            if let holder = pairs[key]?.session, !holder.isEmpty, holder != session { return false }
            let alreadyHeld = pairs[key]?.session == session
            write(key, value, flags, at: logIndex)
            if !alreadyHeld {
                pairs[key]?.lockIndex += 1
                pairs[key]?.session = session
            }
            return true
        case .release(let key, let value, let flags, let session):
            guard let pair = pairs[key], pair.session == session, !session.isEmpty else { return false }
            write(key, value, flags, at: logIndex)
            pairs[key]?.session = ""
            return true
        case .createSession(let session):
            guard sessions[session.id] == nil else { return false }
            var created = session
            created.createIndex = logIndex
            sessions[session.id] = created
            index = logIndex
            return true
        case .destroySession(let id):
            guard let session = sessions.removeValue(forKey: id) else { return false }
            for key in pairs.keys.sorted() where pairs[key]?.session == id {
                if session.deletesLocks {
                    remove(key, at: logIndex)
                } else {
                    pairs[key]?.session = ""
                    pairs[key]?.modifyIndex = logIndex
                }
            }
            index = logIndex
            return true
        }
    }

    mutating func write(_ key: String, _ value: [UInt8], _ flags: UInt64, at logIndex: UInt64) {
        var pair = pairs[key] ?? Pair(key: key, createIndex: logIndex)
        pair.value = value
        pair.flags = flags
        pair.modifyIndex = logIndex
        pairs[key] = pair
        tombstones[key] = nil
        index = logIndex
    }

    mutating func remove(_ key: String, at logIndex: UInt64) {
        guard pairs.removeValue(forKey: key) != nil else { return }
        tombstones[key] = logIndex
        index = logIndex
    }
}
