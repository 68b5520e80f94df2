import Crypto
import Glibc
import Membership
import Sockets

/// Keeps this agent's catalog replica in step with the LAN pool (the
/// gossip delegate): publishes the agent's own record when it changes,
/// applies records heard by gossip or push/pull, drops the records of
/// members that leave, and persists the local registrations. Loop-confined.
public final class CatalogSync: GossipPoolDelegate {
    public internal(set) var replica = Catalog.Replica()
    /// This agent's own node record: the registrations it is the source of truth for.
    public internal(set) var local: Catalog.NodeRecord
    unowned let pool: GossipPool
    let loop: EventLoop
    /// The local registrations (`local-record`), rewritten whole by group commit.
    var localStore: DurableStore?
    /// Nodes registered through this agent's `/v1/catalog/register`: it owns them.
    public internal(set) var external: [String: Catalog.NodeRecord] = [:]
    /// The external nodes (`external-records` and its journal).
    var externalStore: DurableStore?
    var checkTimers: [String: TimerID] = [:]
    /// How each local check runs (never gossiped; persisted with the record).
    var specs: [String: Catalog.CheckSpec] = [:]
    var thresholds: [String: Catalog.StatusThresholds] = [:]
    /// The TLS client of HTTPS checks (the agent's CA and certificate).
    public var checkTLS: @Sendable (_ skipVerify: Bool) -> TLSContext? = { _ in nil }
    /// The newest version announced by a notice, by node (and "acl:" key):
    /// a notice is passed on and acted on once. Swept by `housekeep`.
    var noticed: [String: UInt64] = [:]
    /// Notices waiting for their record are kept up to this many; past it
    /// some are forgotten (a forgotten notice is only acted on again).
    static let noticedLimit = 4096
    var reapTimers: [String: TimerID] = [:]
    /// `DeregisterCriticalServiceAfter` is never shorter than this (Consul: 1 minute).
    public var minimumDeregisterCriticalAfter: Duration = .seconds(60)
    /// Called after every change of the replica (blocking queries and the
    /// DNS snapshot hook here).
    private var changeObservers: [() -> Void] = []

    public func observeChanges(_ observer: @escaping () -> Void) { changeObservers.append(observer) }

    func onChange() {
        refreshAliases()
        for observer in changeObservers { observer() }
    }

    enum MessageKind: UInt8 {
        /// A whole node record (when it fits in a gossip packet).
        case record = 1
        /// node, owner, version: fetch the record by push/pull with the owner.
        case notice = 2
        /// node, owner, version: the record is gone (an external node deregistered).
        case removal = 3
        /// An ACL entry (`ACLStore`), whole when it fits; else writer,
        /// kind, id, version: fetch it by push/pull with the writer.
        case acl = 4
        case aclNotice = 5
        /// A user event (`UserEvent.encoded`).
        case event = 6
    }

    /// User events riding this gossip (set by the agent).
    var events: UserEventBus?

    /// The ACL state riding this gossip (set by the agent).
    var acl: ACLState? {
        didSet { acl?.publish = { [unowned self] entry in gossip(entry) } }
    }

    func gossip(_ entry: ACLStore.Entry) {
        let encoded = ACLStore.encode([entry])
        var w = ByteWriter(capacity: encoded.count + 1)
        if encoded.count + 1 <= pool.userBroadcastLimit {
            w.u8(MessageKind.acl.rawValue)
            w.bytes.append(contentsOf: encoded)
        } else {
            w.u8(MessageKind.aclNotice.rawValue)
            w.string16(entry.writer); w.u8(entry.kind.rawValue); w.string16(entry.id); w.u64(entry.version)
        }
        pool.broadcast(user: w.bytes, key: "acl:\(entry.kind.rawValue):\(entry.id)")
    }

    public init(local: Catalog.NodeRecord, pool: GossipPool, loop: EventLoop, dataDir: String?,
                housekeeping: Duration = .seconds(60)) {
        self.local = local
        self.pool = pool
        self.loop = loop
        if let dataDir {
            localStore = DurableStore(path: dataDir + "/local-record", what: "the local registrations", loop: loop) {
                [unowned self] in encodedForDisk()
            }
            externalStore = DurableStore(path: dataDir + "/external-records", what: "the external registrations", loop: loop) {
                [unowned self] in Catalog.RecordCodec.encode(Array(external.values))
            }
        }
        if let store = localStore, let bytes = store.load(limit: 64 << 20).snapshot {
            let path = store.path
            switch Result(catching: { try Catalog.RecordCodec.decodeLocal(bytes) }) {
            case .success(let (saved, specs)):
                self.specs = specs
                self.local.services = saved.services
                self.local.checks = saved.checks
                self.local.version = saved.version
                Log.info("agent", "restored \(saved.services.count) services and \(saved.checks.count) checks from \(path)")
            case .failure(let error):
                Log.error("agent", "ignoring unreadable \(path): \(error)")
            }
        }
        for check in self.local.checks {
            arm(check)
            watchCritical(check)
        }
        publish()
        restoreExternal()
        scheduleHousekeeping(every: housekeeping)
    }

    /// Removal tombstones past their lifetime go (else they would travel
    /// in every push/pull digest forever), and notices whose record (or
    /// ACL entry) has arrived are forgotten; the rest are capped.
    func housekeep(now: Instant) {
        replica.expireTombstones(now: now)
        noticed = noticed.filter { key, version in
            if key.hasPrefix("acl:") { return version > (acl?.store.entries[String(key.dropFirst(4))]?.version ?? 0) }
            return version > (replica.record(key)?.version ?? 0)
        }
        if noticed.count > Self.noticedLimit {
            noticed = Dictionary(uniqueKeysWithValues: noticed.prefix(Self.noticedLimit).map { ($0.key, $0.value) })
        }
    }

    private func scheduleHousekeeping(every interval: Duration) {
        loop.schedule(after: interval) { [weak self] in
            guard let self else { return }
            housekeep(now: loop.now())
            scheduleHousekeeping(every: interval)
        }
    }

    // MARK: - Local registrations

    /// Adds or replaces a service (by ID) and its checks.
    public func register(_ service: Catalog.Service, checks: [Catalog.Check] = []) {
        local.services.removeAll { $0.id == service.id }
        local.services.append(service)
        let ids = Set(checks.map(\.id))
        local.checks.removeAll { ids.contains($0.id) }
        for check in checks { local.checks.append(adopt(check)) }
        for check in checks {
            arm(check)
            watchCritical(check)
        }
        publish()
    }

    /// Adds or replaces a check on its own (node-level, or on a registered service).
    public func register(check: Catalog.Check) {
        local.checks.removeAll { $0.id == check.id }
        local.checks.append(adopt(check))
        arm(check)
        watchCritical(check)
        publish()
    }

    /// Removes one check; false if there was none by that ID.
    @discardableResult
    public func removeCheck(_ id: String) -> Bool {
        guard local.check(id) != nil else { return false }
        forget(id)
        local.checks.removeAll { $0.id == id }
        publish()
        return true
    }

    /// Removes a service and its checks; false if it was not registered.
    public func deregister(serviceID: String) -> Bool {
        guard local.service(serviceID) != nil else { return false }
        local.services.removeAll { $0.id == serviceID }
        for check in local.checks where check.serviceID == serviceID { forget(check.id) }
        local.checks.removeAll { $0.serviceID == serviceID }
        publish()
        return true
    }

    /// Raises the version, applies, persists and gossips the local record.
    /// Versions are at least the wall clock in ms, so they keep rising
    /// across restarts even without a data directory.
    func publish() {
        local.version = Self.nextVersion(after: local.version)
        let encoded = Catalog.RecordCodec.encode(local)
        localStore?.rewrite()
        apply(local)
        gossip(local, encoded: encoded)
    }

    /// The local record as `local-record` keeps it (with how its checks run).
    private func encodedForDisk() -> [UInt8] {
        specs.isEmpty ? Catalog.RecordCodec.encode(local) : Catalog.RecordCodec.encodeLocal(local, specs: specs)
    }

    /// Calls `done` on the loop once every registration made so far is on
    /// disk (at once without a data directory), or with why it is not.
    public func whenDurable(_ done: @escaping DurableStore.Done) {
        let stores = [localStore, externalStore].compactMap { $0 }
        var left = stores.count
        var failure: String?
        guard left > 0 else { return done(nil) }
        for store in stores {
            store.whenDurable { problem in
                failure = failure ?? problem
                left -= 1
                if left == 0 { done(failure) }
            }
        }
    }

    static func nextVersion(after previous: UInt64) -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
        return max(previous + 1, millis)
    }

    func gossip(_ record: Catalog.NodeRecord, encoded: [UInt8]) {
        var w = ByteWriter(capacity: encoded.count + 1)
        if encoded.count + 1 <= pool.userBroadcastLimit {
            w.u8(MessageKind.record.rawValue)
            w.bytes.append(contentsOf: encoded)
        } else {
            w.u8(MessageKind.notice.rawValue)
            w.string16(record.node); w.string16(record.owner); w.u64(record.version)
        }
        pool.broadcast(user: w.bytes, key: "catalog:" + record.node)
    }

    @discardableResult
    func apply(_ record: Catalog.NodeRecord) -> Bool {
        guard replica.apply(record, now: loop.now()) else { return false }
        onChange()
        return true
    }

    // MARK: - GossipPoolDelegate

    /// A digest of the replica; in an answer, also the records the
    /// requester lacks.
    public func localState(join: Bool, answering request: [UInt8]?) -> [UInt8] {
        var records: [Catalog.NodeRecord] = []
        if let request, let theirs = try? Catalog.PushPullState.decode(request) {
            records = Catalog.PushPullState.records(of: replica, lackedBy: theirs.digest)
        }
        return Catalog.PushPullState(digest: replica.digest(), records: records, acl: acl?.payload() ?? []).encode()
    }

    /// Applies the records a peer sent and its removals; records it holds
    /// newer than ours but did not send (it asked, we answer) are pulled
    /// from their owners.
    public func mergeRemoteState(_ state: [UInt8], join: Bool) {
        let theirs: Catalog.PushPullState
        do {
            theirs = try Catalog.PushPullState.decode(state)
        } catch {
            return Log.warn("agent", "dropped catalog state from push/pull: \(error)")
        }
        if theirs.skipped > 0 { Log.warn("agent", "skipped \(theirs.skipped) unreadable catalog records in push/pull") }
        if !theirs.acl.isEmpty { acl?.merge(theirs.acl) }
        for record in theirs.records { receive(record) }
        var owners: Set<String> = []
        for entry in theirs.digest {
            if let ours = ownedVersion(entry.node), entry.removed || entry.owner == local.owner {
                // Only this agent changes its records: a newer copy, or a
                // removal, left elsewhere by a previous run is outvoted.
                if entry.version > ours || (entry.removed && entry.version == ours) {
                    republishOwned(entry.node, after: entry.version)
                }
            } else if entry.removed {
                if replica.remove(node: entry.node, version: entry.version, now: loop.now()) { onChange() }
            } else if replica.lacks(entry) {
                owners.insert(entry.owner)
            }
        }
        for owner in owners.sorted().prefix(Self.pullsPerMerge) {
            guard let member = pool.instance.member(named: owner), member.status.isLive else { continue }
            pool.sync(with: member.address)
        }
    }

    /// At most this many owners are asked after one merge; the rest
    /// arrive with later exchanges.
    static let pullsPerMerge = 4

    /// The version of a record this agent owns, nil for others'.
    private func ownedVersion(_ node: String) -> UInt64? {
        node == local.node ? local.version : external[node]?.version
    }

    /// Publishes an owned record again with a version above `version`.
    private func republishOwned(_ node: String, after version: UInt64) {
        if node == local.node {
            local.version = max(local.version, version)
            publish()
        } else if var record = external[node] {
            record.version = max(record.version, version)
            publishExternal(record)
        }
    }

    public func userMessageReceived(_ bytes: [UInt8]) {
        guard let kind = bytes.first.flatMap(MessageKind.init(rawValue:)) else {
            return Log.debug("agent", "dropped unknown catalog message")
        }
        switch kind {
        case .record:
            guard let record = try? Catalog.RecordCodec.decode(Array(bytes.dropFirst())) else {
                return Log.debug("agent", "dropped malformed catalog record")
            }
            if receive(record) { gossip(record, encoded: Array(bytes.dropFirst())) }
        case .notice:
            var r = ByteReader(bytes, from: 1)
            guard let node = try? r.string16(), let owner = try? r.string16(), let version = try? r.u64() else { return }
            let known = max(replica.record(node)?.version ?? 0, noticed[node] ?? 0)
            guard version > known else { return }
            // News: passed on like a record (a sender's own transmissions
            // reach only a few members), then the record is pulled.
            noticed[node] = version
            pool.broadcast(user: bytes, key: "catalog:" + node)
            // Only an owner sends notices: this one just spoke, even if we
            // still hold it failed (a restart), so it is asked anyway.
            guard let member = pool.instance.member(named: owner), member.status != .left else { return }
            pool.sync(with: member.address)
        case .acl:
            guard let entries = try? ACLStore.decode(Array(bytes.dropFirst())), entries.count == 1 else {
                return Log.debug("agent", "dropped malformed ACL entry")
            }
            if acl?.receive(entries[0]) == true { pool.broadcast(user: bytes, key: "acl:\(entries[0].kind.rawValue):\(entries[0].id)") }
        case .aclNotice:
            var r = ByteReader(bytes, from: 1)
            guard let writer = try? r.string16(), let kind = (try? r.u8()).flatMap(ACLStore.Kind.init(rawValue:)),
                  let id = try? r.string16(), let version = try? r.u64(), let acl else { return }
            let key = "\(kind.rawValue):\(id)"
            guard version > (acl.store.entries[key]?.version ?? 0), version > (noticed["acl:" + key] ?? 0) else { return }
            noticed["acl:" + key] = version
            pool.broadcast(user: bytes, key: "acl:" + key)
            guard let member = pool.instance.member(named: writer), member.status != .left else { return }
            pool.sync(with: member.address)
        case .event:
            events?.received(Array(bytes.dropFirst()))
        case .removal:
            var r = ByteReader(bytes, from: 1)
            guard let node = try? r.string16(), (try? r.string16()) != nil, let version = try? r.u64() else { return }
            if replica.remove(node: node, version: version, now: loop.now()) {
                onChange()
                pool.broadcast(user: bytes, key: "catalog:" + node)
            }
        }
    }

    public func membershipChanged(_ event: SWIM.MemberEvent) {
        switch event {
        case .left(let m), .reaped(let m):
            if !replica.removeOwned(by: m.name, now: loop.now()).isEmpty { onChange() }
        case .joined, .updated, .failed:
            // Gossip health shows in every read (serfHealth): reads must wake up.
            replica.touch()
            onChange()
        }
    }

    /// Applies a record from a peer. A copy of our own record that is newer
    /// than ours, or as new but different (left by a previous run), is
    /// outvoted by republishing. Our current record coming back (peers
    /// re-gossip what they learn) is not: republishing that would bounce
    /// between peers forever.
    @discardableResult
    private func receive(_ record: Catalog.NodeRecord) -> Bool {
        if record.node == local.node && record.owner == local.owner {
            if record.version > local.version || (record.version == local.version && record != local) {
                local.version = record.version
                publish()
            }
            return false
        }
        return apply(record)
    }
}
