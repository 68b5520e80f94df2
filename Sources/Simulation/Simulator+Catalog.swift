import CatalogCore
import MembershipCore
import Primitives

/// The catalog's replication core (`Catalog.Sync`) on the simulated pool, as
/// `CatalogSync` runs it on a real one: user messages and push/pull state in,
/// broadcasts, pulls and saves out. A node's saved local record is its disk:
/// a crash keeps it, a restart restores it.
extension Simulator {
    func catalogTime(_ id: Int) -> Catalog.Sync.Time {
        let millis = Int64(wallEpochMillis) + Int64(now.nanoseconds / 1_000_000) + (wallSkew[id] ?? 0)
        return Catalog.Sync.Time(now: now, wallMillis: UInt64(max(0, millis)))
    }

    mutating func startCatalog(_ id: Int) {
        guard catalog, nodes[id].instance != nil else { return }
        let name = Self.name(id)
        var sync = Catalog.Sync(local: Catalog.NodeRecord(node: name, address: nodes[id].address.ip,
                                                          datacenter: "dc1", owner: name),
                                broadcastLimit: settings.userBroadcastLimit)
        if let saved = nodes[id].savedLocal {
            sync.restore(services: saved.services, checks: saved.checks, version: saved.version)
        }
        nodes[id].catalog = sync
        nodes[id].catalogChanges = 0
        catalogStep(id) { core, time, out in core.publishLocal(at: time, into: &out) }
        queue.push(now + catalogHousekeeping, .housekeep(id))
    }

    /// Runs one input of node `id`'s catalog core, then carries out its outputs.
    @discardableResult
    public mutating func catalogStep<R>(_ id: Int,
                                        _ input: (inout Catalog.Sync, Catalog.Sync.Time, inout [Catalog.Sync.Output]) -> R) -> R? {
        guard var core = nodes[id].catalog else { return nil }
        nodes[id].catalog = nil
        var out: [Catalog.Sync.Output] = []
        let result = input(&core, catalogTime(id), &out)
        nodes[id].catalog = core
        perform(out, at: id)
        return result
    }

    private mutating func perform(_ outputs: [Catalog.Sync.Output], at id: Int) {
        for output in outputs {
            switch output {
            case .saveLocal:
                nodes[id].savedLocal = nodes[id].catalog?.local
            case .saveExternal:
                break
            case .broadcast(let bytes, let key):
                mutate(id) { $0.broadcast(user: bytes, key: key) }
            case .pull(let owner, let evenIfFailed):
                guard let member = nodes[id].instance?.member(named: owner), let to = byAddress[member.address],
                      evenIfFailed ? member.status != .left : member.status.isLive else { continue }
                queue.push(now + delay(id, to) + delay(to, id), .pushPull(from: id, to: to, join: false))
            case .changed:
                nodes[id].catalogChanges += 1
            }
        }
        schedule(id)
    }

    func catalogState(_ id: Int, answering request: [UInt8]?) -> [UInt8] {
        nodes[id].catalog?.localState(answering: request, acl: []) ?? []
    }

    mutating func mergeCatalog(_ state: [UInt8], into id: Int) {
        guard !state.isEmpty else { return }
        catalogStep(id) { core, time, out in _ = core.merge(state: state, at: time, into: &out) }
    }

    mutating func receiveCatalog(_ bytes: [UInt8], at id: Int) {
        catalogStep(id) { core, time, out in _ = core.receive(message: bytes, at: time, into: &out) }
    }

    mutating func catalogSees(_ event: SWIM.MemberEvent, at id: Int) {
        switch event {
        case .left(let m), .reaped(let m):
            catalogStep(id) { core, time, out in core.memberLeft(m.name, at: time, into: &out) }
        case .joined, .updated, .failed:
            catalogStep(id) { core, _, out in core.memberChanged(into: &out) }
        }
    }

    mutating func housekeepCatalog(_ id: Int) {
        guard nodes[id].catalog != nil else { return }
        let now = self.now
        catalogStep(id) { core, _, _ in core.housekeep(now: now) }
        queue.push(now + catalogHousekeeping, .housekeep(id))
    }

    // MARK: - Driving and reading the catalogs

    /// Registers (or replaces) a service on node `id`'s own record.
    public mutating func register(_ service: Catalog.Service, on id: Int) {
        catalogStep(id) { core, time, out in
            core.updateLocal(at: time, into: &out) { local in
                local.services.removeAll { $0.id == service.id }
                local.services.append(service)
            }
        }
    }

    public mutating func deregister(serviceID: String, on id: Int) {
        catalogStep(id) { core, time, out in
            core.updateLocal(at: time, into: &out) { $0.services.removeAll { $0.id == serviceID } }
        }
    }

    /// Registers an external node (with one service) through node `id`.
    public mutating func registerExternal(node: String, service: Catalog.Service, through id: Int) {
        catalogStep(id) { core, time, out in
            core.registerExternal(node: node, address: "192.0.2.1", taggedAddresses: [:], meta: [:], service: service,
                                  checks: [], at: time, into: &out)
        }
    }

    @discardableResult
    public mutating func deregisterExternal(node: String, through id: Int) -> Bool {
        catalogStep(id) { core, time, out in
            core.deregisterExternal(node: node, serviceID: nil, checkID: nil, at: time, into: &out)
        } ?? false
    }

    /// The (node → version) view of node `id`'s replica.
    public func catalogView(_ id: Int) -> [String: UInt64]? {
        nodes[id].catalog.map { $0.replica.records.mapValues(\.version) }
    }

    /// Every running catalog holds exactly `expected` (node → version).
    public func catalogsAgree(on expected: [String: UInt64], among ids: some Sequence<Int>) -> Bool {
        ids.allSatisfy { catalogView($0) == expected }
    }

    /// The (node → version) every replica should hold: each owner's own
    /// records (its node and the external nodes it registered).
    public func ownedRecords(_ ids: some Sequence<Int>) -> [String: UInt64] {
        var expected: [String: UInt64] = [:]
        for id in ids {
            guard let core = nodes[id].catalog else { continue }
            expected[core.local.node] = core.local.version
            for (node, record) in core.external { expected[node] = record.version }
        }
        return expected
    }

    /// Every node in `ids` holds exactly what their owners hold. Polls
    /// cheaply (record counts) before comparing every view.
    public func catalogsConverged(_ ids: [Int]) -> Bool {
        let expected = ownedRecords(ids)
        guard ids.allSatisfy({ nodes[$0].catalog?.replica.records.count == expected.count }) else { return false }
        return catalogsAgree(on: expected, among: ids)
    }
}
