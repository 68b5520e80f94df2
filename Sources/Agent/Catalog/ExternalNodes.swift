import Sockets

/// `/v1/catalog/register` and `/v1/catalog/deregister` for nodes that run
/// no agent (`Catalog.Sync`'s external nodes), and their restore from the
/// data directory.
extension CatalogSync {
    /// Registers or updates an external node with an optional service and
    /// checks (static statuses, as Consul's catalog keeps them).
    public func registerExternal(node: String, address: String, taggedAddresses: [String: String],
                                 meta: [String: String], service: Catalog.Service?, checks: [Catalog.Check]) {
        step { core, time, out in
            core.registerExternal(node: node, address: address, taggedAddresses: taggedAddresses, meta: meta,
                                  service: service, checks: checks, at: time, into: &out)
        }
    }

    /// Removes a service, a check or (with neither) the whole external node.
    /// False when there is nothing by that name.
    public func deregisterExternal(node: String, serviceID: String?, checkID: String?) -> Bool {
        step { core, time, out in core.deregisterExternal(node: node, serviceID: serviceID, checkID: checkID, at: time, into: &out) }
    }

    typealias JournalEntry = Catalog.Sync.JournalEntry

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
        for node in order {
            guard let record = nodes[node] else { continue }
            step { core, time, out in core.publishExternal(record, persist: false, at: time, into: &out) }
        }
        if !nodes.isEmpty { Log.info("agent", "restored \(nodes.count) external nodes from \(store.path)") }
    }
}
