import MembershipCore
import Primitives

/// What arrives from the pool: gossip messages, push/pull states and
/// membership events; and the housekeeping that keeps the bookkeeping bounded.
extension Catalog.Sync {
    /// Takes one user broadcast. Returns false, doing nothing, for the kinds
    /// the shell handles (ACL entries and notices, user events); a malformed
    /// catalog message is dropped (logged) and counts as handled.
    public mutating func receive(message bytes: [UInt8], at time: Time, into out: inout [Output]) -> Bool {
        guard let kind = bytes.first.flatMap(MessageKind.init(rawValue:)) else {
            Log.debug("agent", "dropped unknown catalog message")
            return true
        }
        switch kind {
        case .record:
            // Most records heard are ones we hold already: skip those undecoded.
            if let header = Catalog.RecordCodec.header(bytes, from: 1), header.node != local.node,
               !replica.wouldTake(node: header.node, owner: header.owner, version: header.version) {
                return true
            }
            guard let record = try? Catalog.RecordCodec.decode(Array(bytes.dropFirst())) else {
                Log.debug("agent", "dropped malformed catalog record")
                return true
            }
            // News is passed on (a sender's own transmissions reach only a few members).
            if receive(record, at: time, into: &out) { out.append(.broadcast(bytes, key: "catalog:" + record.node)) }
        case .notice:
            var r = ByteReader(bytes, from: 1)
            guard let node = try? r.string16(), let owner = try? r.string16(), let version = try? r.u64() else {
                Log.debug("agent", "dropped malformed catalog notice")
                return true
            }
            let known = max(replica.record(node)?.version ?? 0, noticed[node] ?? 0)
            guard version > known else { return true }
            // Passed on like a record, then the record is pulled. Only an
            // owner sends notices: this one just spoke, even if we still
            // hold it failed (a restart), so it is asked anyway.
            noticed[node] = version
            out.append(.broadcast(bytes, key: "catalog:" + node))
            out.append(.pull(from: owner, evenIfFailed: true))
        case .removal:
            var r = ByteReader(bytes, from: 1)
            guard let node = try? r.string16(), (try? r.string16()) != nil, let version = try? r.u64() else {
                Log.debug("agent", "dropped malformed catalog removal")
                return true
            }
            if replica.remove(node: node, version: version, now: time.now) {
                out.append(.broadcast(bytes, key: "catalog:" + node))
                out.append(.changed)
            }
        case .acl, .aclNotice, .event:
            return false
        }
        return true
    }

    /// Records a notice the shell received (its "acl:" keys) unless one as
    /// new is known; true when it is news to act on.
    public mutating func note(notice key: String, version: UInt64) -> Bool {
        guard version > (noticed[key] ?? 0) else { return false }
        noticed[key] = version
        return true
    }

    // MARK: - Push/pull

    /// The catalog's part of a push/pull state: a digest of the replica;
    /// in an answer, also the records the requester lacks. `acl` rides along.
    public func localState(answering request: [UInt8]?, acl: [UInt8]) -> [UInt8] {
        var records: [Catalog.NodeRecord] = []
        if let request, let theirs = try? Catalog.PushPullState.decode(request) {
            records = Catalog.PushPullState.records(of: replica, lackedBy: theirs.digest)
        }
        return Catalog.PushPullState(digest: replica.digest(), records: records, acl: acl).encode()
    }

    /// Applies the records a peer sent and its removals; records it holds
    /// newer than ours but did not send (it asked, we answer) are pulled
    /// from their owners. Returns the peer's ACL state for the shell (nil
    /// when the state could not be read: dropped, logged).
    public mutating func merge(state: [UInt8], at time: Time, into out: inout [Output]) -> [UInt8]? {
        let theirs: Catalog.PushPullState
        do {
            theirs = try Catalog.PushPullState.decode(state)
        } catch {
            Log.warn("agent", "dropped catalog state from push/pull: \(error)")
            return nil
        }
        if theirs.skipped > 0 { Log.warn("agent", "skipped \(theirs.skipped) unreadable catalog records in push/pull") }
        for record in theirs.records { receive(record, at: time, into: &out) }
        var owners: Set<String> = []
        for entry in theirs.digest {
            if let ours = ownedVersion(entry.node), entry.removed || entry.owner == local.owner {
                // Only this agent changes its records: a newer copy, a
                // removal, or a copy as new with other content (a previous
                // run's lost last write), left elsewhere, is outvoted.
                if entry.version > ours || (entry.version == ours && (entry.removed || differs(entry))) {
                    republishOwned(entry.node, after: entry.version, at: time, into: &out)
                }
            } else if entry.removed {
                if replica.remove(node: entry.node, version: entry.version, now: time.now) { out.append(.changed) }
            } else if replica.lacks(entry) {
                owners.insert(entry.owner)
            }
        }
        for owner in owners.sorted().prefix(Self.pullsPerMerge) { out.append(.pull(from: owner, evenIfFailed: false)) }
        return theirs.acl
    }

    /// Whether a peer's copy of an owned record, at our version, holds other content.
    func differs(_ entry: Catalog.DigestEntry) -> Bool {
        let ours = entry.node == local.node ? local : external[entry.node]
        return ours.map { Catalog.RecordCodec.fingerprint($0) != entry.fingerprint } ?? false
    }

    // MARK: - Membership

    /// A member left or was reaped: the records it owned go.
    public mutating func memberLeft(_ name: String, at time: Time, into out: inout [Output]) {
        if !replica.removeOwned(by: name, now: time.now).isEmpty { out.append(.changed) }
    }

    /// A member joined, failed or changed: gossip health shows in every
    /// read (serfHealth), so reads must wake up.
    public mutating func memberChanged(into out: inout [Output]) {
        replica.touch()
        out.append(.changed)
    }

    // MARK: - Housekeeping

    /// Removal tombstones past their lifetime go (else they would travel
    /// in every push/pull digest forever), and notices whose record has
    /// arrived are forgotten (`settled` gives the version the shell holds
    /// of its "acl:" keys); the rest are capped.
    public mutating func housekeep(now: Instant, settled: (String) -> UInt64 = { _ in 0 }) {
        replica.expireTombstones(now: now)
        noticed = noticed.filter { key, version in
            if key.hasPrefix("acl:") { return version > settled(key) }
            return version > (replica.record(key)?.version ?? 0)
        }
        if noticed.count > Self.noticedLimit {
            noticed = Dictionary(uniqueKeysWithValues: noticed.prefix(Self.noticedLimit).map { ($0.key, $0.value) })
        }
    }
}
