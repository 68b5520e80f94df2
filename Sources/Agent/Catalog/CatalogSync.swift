import Crypto
import Glibc
import Membership
import Sockets

/// The shell of the catalog's replication (`Catalog.Sync`, the pure core)
/// and the gossip delegate of the LAN pool: it hands the core what the pool
/// and the API bring, with the time, and carries out what the core decides
/// (gossip, pulls, persistence by group commit, change notifications). It
/// also runs the local checks. Loop-confined.
public final class CatalogSync: GossipPoolDelegate {
    public internal(set) var core: Catalog.Sync
    /// This agent's copy of the datacenter's catalog.
    public var replica: Catalog.Replica { core.replica }
    /// This agent's own node record: the registrations it is the source of truth for.
    public var local: Catalog.NodeRecord { core.local }
    /// Nodes registered through this agent's `/v1/catalog/register`: it owns them.
    public var external: [String: Catalog.NodeRecord] { core.external }
    unowned let pool: GossipPool
    let loop: EventLoop
    /// The local registrations (`local-record`), rewritten whole by group commit.
    var localStore: DurableStore?
    /// The external nodes (`external-records` and its journal).
    var externalStore: DurableStore?
    var checkTimers: [String: TimerID] = [:]
    /// How each local check runs (never gossiped; persisted with the record).
    var specs: [String: Catalog.CheckSpec] = [:]
    var thresholds: [String: Catalog.StatusThresholds] = [:]
    /// Where the first run of each probe falls in its first 500 ms.
    var random = SeededRandom(seed: UInt64.random(in: .min ... .max))
    /// The TLS client of HTTPS checks (the agent's CA and certificate).
    public var checkTLS: @Sendable (_ skipVerify: Bool) -> TLSContext? = { _ in nil }
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

    typealias MessageKind = Catalog.Sync.MessageKind

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
        core = Catalog.Sync(local: local, broadcastLimit: pool.userBroadcastLimit)
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
                core.restore(services: saved.services, checks: saved.checks, version: saved.version)
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

    // MARK: - Between the core and the world

    /// The time an input happens at, from the loop's clock and the wall clock.
    func time() -> Catalog.Sync.Time {
        Catalog.Sync.Time(now: loop.now(), wallMillis: Self.wallMillis())
    }

    static func wallMillis() -> UInt64 {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return UInt64(max(0, wall.tv_sec)) * 1000 + UInt64(max(0, wall.tv_nsec)) / 1_000_000
    }

    /// A version for something this agent writes (ACL entries, keyring
    /// operations): above `previous`, at least the wall clock in ms.
    static func nextVersion(after previous: UInt64) -> UInt64 {
        Catalog.Sync.nextVersion(after: previous, wallMillis: wallMillis())
    }

    /// Runs one input of the core with the time now, then carries out its outputs.
    @discardableResult
    func step<R>(_ input: (inout Catalog.Sync, Catalog.Sync.Time, inout [Catalog.Sync.Output]) -> R) -> R {
        var out: [Catalog.Sync.Output] = []
        let result = input(&core, time(), &out)
        perform(out)
        return result
    }

    func perform(_ outputs: [Catalog.Sync.Output]) {
        for output in outputs {
            switch output {
            case .saveLocal:
                localStore?.rewrite()
            case .saveExternal(let entry):
                externalStore?.append(entry)
            case .broadcast(let bytes, let key):
                pool.broadcast(user: bytes, key: key)
            case .pull(let owner, let evenIfFailed):
                guard let member = pool.instance.member(named: owner),
                      evenIfFailed ? member.status != .left : member.status.isLive else { continue }
                pool.sync(with: member.address)
            case .changed:
                onChange()
            }
        }
    }

    /// Removal tombstones past their lifetime go, and settled notices
    /// (of records and of ACL entries) are forgotten; the rest are capped.
    func housekeep(now: Instant) {
        let entries = acl?.store.entries ?? [:]
        core.housekeep(now: now) { key in entries[String(key.dropFirst(4))]?.version ?? 0 }
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
        let adopted = checks.map(adopt)
        step { core, time, out in
            core.updateLocal(at: time, into: &out) { local in
                local.services.removeAll { $0.id == service.id }
                local.services.append(service)
                let ids = Set(adopted.map(\.id))
                local.checks.removeAll { ids.contains($0.id) }
                local.checks.append(contentsOf: adopted)
            }
        }
        for check in checks {
            arm(check)
            watchCritical(check)
        }
    }

    /// Adds or replaces a check on its own (node-level, or on a registered service).
    public func register(check: Catalog.Check) {
        let adopted = adopt(check)
        step { core, time, out in
            core.updateLocal(at: time, into: &out) { local in
                local.checks.removeAll { $0.id == check.id }
                local.checks.append(adopted)
            }
        }
        arm(check)
        watchCritical(check)
    }

    /// Removes one check; false if there was none by that ID.
    @discardableResult
    public func removeCheck(_ id: String) -> Bool {
        guard local.check(id) != nil else { return false }
        forget(id)
        step { core, time, out in core.updateLocal(at: time, into: &out) { $0.checks.removeAll { $0.id == id } } }
        return true
    }

    /// Removes a service and its checks; false if it was not registered.
    public func deregister(serviceID: String) -> Bool {
        guard local.service(serviceID) != nil else { return false }
        for check in local.checks where check.serviceID == serviceID { forget(check.id) }
        step { core, time, out in
            core.updateLocal(at: time, into: &out) { local in
                local.services.removeAll { $0.id == serviceID }
                local.checks.removeAll { $0.serviceID == serviceID }
            }
        }
        return true
    }

    /// Raises the version, persists, gossips and applies the local record.
    func publish() {
        step { core, time, out in core.publishLocal(at: time, into: &out) }
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

    // MARK: - GossipPoolDelegate

    public func localState(join: Bool, answering request: [UInt8]?) -> [UInt8] {
        core.localState(answering: request, acl: acl?.payload() ?? [])
    }

    public func mergeRemoteState(_ state: [UInt8], join: Bool) {
        let theirACL = step { core, time, out in core.merge(state: state, at: time, into: &out) }
        if let theirACL, !theirACL.isEmpty { acl?.merge(theirACL) }
    }

    public func userMessageReceived(_ bytes: [UInt8]) {
        guard !step({ core, time, out in core.receive(message: bytes, at: time, into: &out) }),
              let kind = bytes.first.flatMap(MessageKind.init(rawValue:)) else { return }
        switch kind {
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
            guard version > (acl.store.entries[key]?.version ?? 0), core.note(notice: "acl:" + key, version: version) else { return }
            pool.broadcast(user: bytes, key: "acl:" + key)
            guard let member = pool.instance.member(named: writer), member.status != .left else { return }
            pool.sync(with: member.address)
        case .event:
            events?.received(Array(bytes.dropFirst()))
        case .record, .notice, .removal:
            return
        }
    }

    public func membershipChanged(_ event: SWIM.MemberEvent) {
        switch event {
        case .left(let m), .reaped(let m):
            step { core, time, out in core.memberLeft(m.name, at: time, into: &out) }
        case .joined, .updated, .failed:
            step { core, _, out in core.memberChanged(into: &out) }
        }
    }
}
