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
            persistExternal()
            if replica.remove(node: node, version: version, now: loop.now()) { onChange() }
            var w = ByteWriter()
            w.u8(MessageKind.removal.rawValue)
            w.string16(node); w.string16(record.owner); w.u64(version)
            pool.broadcast(user: w.bytes, key: "catalog:" + node)
        }
        return true
    }

    func publishExternal(_ record: Catalog.NodeRecord) {
        var record = record
        record.version = Self.nextVersion(after: max(record.version, replica.record(record.node)?.version ?? 0))
        external[record.node] = record
        persistExternal()
        apply(record)
        gossip(record, encoded: Catalog.RecordCodec.encode(record))
    }

    func persistExternal() {
        guard let path = externalPath else { return }
        do {
            try DataFile.writeAtomically(path, Catalog.RecordCodec.encode(Array(external.values)))
        } catch {
            Log.error("agent", "could not persist external registrations: \(error)")
        }
    }

    func restoreExternal() {
        guard let path = externalPath, let bytes = DataFile.read(path, limit: 256 << 20) else { return }
        guard let (records, _) = try? Catalog.RecordCodec.decodeList(bytes) else {
            return Log.error("agent", "ignoring unreadable \(path)")
        }
        for record in records { publishExternal(record) }
        if !records.isEmpty { Log.info("agent", "restored \(records.count) external nodes from \(path)") }
    }
}
