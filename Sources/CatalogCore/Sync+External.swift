import Primitives

/// Nodes that run no agent (databases, SaaS endpoints), registered through
/// `/v1/catalog/register`: the agent that took the registration owns the
/// node's record, versions it, persists it and gossips it like its own.
extension Catalog.Sync {
    /// Registers or updates an external node with an optional service and
    /// checks (static statuses, as Consul's catalog keeps them).
    public mutating func registerExternal(node: String, address: String, taggedAddresses: [String: String],
                                          meta: [String: String], service: Catalog.Service?, checks: [Catalog.Check],
                                          at time: Time, into out: inout [Output]) {
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
        publishExternal(record, at: time, into: &out)
    }

    /// Removes a service, a check or (with neither) the whole external node.
    /// False when there is nothing by that name.
    public mutating func deregisterExternal(node: String, serviceID: String?, checkID: String?,
                                            at time: Time, into out: inout [Output]) -> Bool {
        guard var record = external[node] else { return false }
        if let serviceID {
            guard record.service(serviceID) != nil else { return false }
            record.services.removeAll { $0.id == serviceID }
            record.checks.removeAll { $0.serviceID == serviceID }
            publishExternal(record, at: time, into: &out)
        } else if let checkID {
            guard record.check(checkID) != nil else { return false }
            record.checks.removeAll { $0.id == checkID }
            publishExternal(record, at: time, into: &out)
        } else {
            external[node] = nil
            let version = Self.nextVersion(after: record.version, wallMillis: time.wallMillis)
            var entry = ByteWriter()
            entry.u8(JournalEntry.removal.rawValue)
            entry.string16(node)
            out.append(.saveExternal(entry.bytes))
            var w = ByteWriter()
            w.u8(MessageKind.removal.rawValue)
            w.string16(node); w.string16(record.owner); w.u64(version)
            out.append(.broadcast(w.bytes, key: "catalog:" + node))
            if replica.remove(node: node, version: version, now: time.now) { out.append(.changed) }
        }
        return true
    }

    /// Versions, persists (unless `persist` is false: restoring, the store
    /// already holds it), gossips and applies an external node's record.
    public mutating func publishExternal(_ record: Catalog.NodeRecord, persist: Bool = true,
                                         at time: Time, into out: inout [Output]) {
        var record = record
        record.version = Self.nextVersion(after: max(record.version, replica.record(record.node)?.version ?? 0),
                                          wallMillis: time.wallMillis)
        external[record.node] = record
        let encoded = Catalog.RecordCodec.encode(record)
        if persist { out.append(.saveExternal([JournalEntry.record.rawValue] + encoded)) }
        out.append(gossip(record, encoded: encoded))
        apply(record, at: time, into: &out)
    }
}
