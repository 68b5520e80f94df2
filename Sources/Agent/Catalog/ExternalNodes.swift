import Sockets

/// `/v1/catalog/register` and `/v1/catalog/deregister` for nodes that run
/// no agent (databases, SaaS endpoints): the agent that took the
/// registration owns the node's record, versions it, persists it and
/// gossips it like its own.
extension CatalogSync {
    /// Registers or updates an external node with an optional service and
    /// checks (static statuses, as Consul's catalog keeps them).
    public func registerExternal(node: String, address: String, taggedAddresses: [String: String],
                                 meta: [String: String], service: Catalog.Service?, checks: [Catalog.Check]) {
        var record = external[node] ?? Catalog.NodeRecord(node: node, address: address, datacenter: local.datacenter,
                                                          owner: local.owner)
        record.address = address
        if !taggedAddresses.isEmpty { record.taggedAddresses = taggedAddresses }
        if !meta.isEmpty { record.meta = meta }
        if let service {
            record.services.removeAll { $0.id == service.id }
            record.services.append(service)
        }
        for check in checks {
            record.checks.removeAll { $0.id == check.id }
            record.checks.append(check)
        }
        publishExternal(record)
    }

    /// Removes a service, a check or (with neither) the whole external node.
    /// False when there is nothing by that name.
    public func deregisterExternal(node: String, serviceID: String?, checkID: String?) -> Bool {
        guard var record = external[node] else { return false }
        if let serviceID {
            guard record.service(serviceID) != nil else { return false }
            record.services.removeAll { $0.id == serviceID }
            record.checks.removeAll { $0.serviceID == serviceID }
            publishExternal(record)
        } else if let checkID {
            guard record.check(checkID) != nil else { return false }
            record.checks.removeAll { $0.id == checkID }
            publishExternal(record)
        } else {
            external[node] = nil
            let version = Self.nextVersion(after: record.version)
            var entry = ByteWriter()
            entry.u8(JournalEntry.removal.rawValue)
            entry.string16(node)
            externalStore?.append(entry.bytes)
            if replica.remove(node: node, version: version, now: loop.now()) { onChange() }
            var w = ByteWriter()
            w.u8(MessageKind.removal.rawValue)
            w.string16(node); w.string16(record.owner); w.u64(version)
            pool.broadcast(user: w.bytes, key: "catalog:" + node)
        }
        return true
    }

    /// What one entry of the external nodes' journal says.
    enum JournalEntry: UInt8 {
        /// A node's whole record (`RecordCodec.encode`).
        case record = 1
        /// A node name: the node was deregistered.
        case removal = 2
    }

    /// `persist` false when restoring: the store already holds it.
    func publishExternal(_ record: Catalog.NodeRecord, persist: Bool = true) {
        var record = record
        record.version = Self.nextVersion(after: max(record.version, replica.record(record.node)?.version ?? 0))
        external[record.node] = record
        let encoded = Catalog.RecordCodec.encode(record)
        if persist { externalStore?.append([JournalEntry.record.rawValue] + encoded) }
        apply(record)
        gossip(record, encoded: encoded)
    }

    /// The snapshot, then the journal's changes in order.
    func restoreExternal() {
        guard let store = externalStore else { return }
        let loaded = store.load(limit: 256 << 20)
        if let problem = loaded.problem { Log.warn("agent", problem) }
        var nodes: [String: Catalog.NodeRecord] = [:]
        var order: [String] = []
        func put(_ record: Catalog.NodeRecord) {
            if nodes.updateValue(record, forKey: record.node) == nil { order.append(record.node) }
        }
        if let bytes = loaded.snapshot {
            guard let (records, skipped) = try? Catalog.RecordCodec.decodeList(bytes) else {
                return Log.error("agent", "ignoring unreadable \(store.path): not a list of node records")
            }
            if skipped > 0 { Log.warn("agent", "\(store.path): skipped \(skipped) unreadable node records") }
            records.forEach(put)
        }
        var unreadable = 0
        for entry in loaded.entries {
            var r = ByteReader(entry)
            switch (try? r.u8()).flatMap(JournalEntry.init(rawValue:)) {
            case .record:
                if let record = try? Catalog.RecordCodec.decode(Array(entry.dropFirst())) { put(record) } else { unreadable += 1 }
            case .removal:
                if let node = try? r.string16() { nodes[node] = nil } else { unreadable += 1 }
            case nil:
                unreadable += 1
            }
        }
        if unreadable > 0 { Log.warn("agent", "\(store.journalPath): skipped \(unreadable) unreadable entries") }
        for node in order { if let record = nodes[node] { publishExternal(record, persist: false) } }
        if !nodes.isEmpty { Log.info("agent", "restored \(nodes.count) external nodes from \(store.path)") }
    }
}
