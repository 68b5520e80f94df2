import Sockets

extension Catalog.NodeRecord {
    /// The node's own health: its agent's `serfHealth` (`agentLive`; nil
    /// for a node without an agent) and its checks bound to no service.
    public func nodeHealth(agentLive: Bool?) -> Catalog.HealthStatus {
        var status: Catalog.HealthStatus = agentLive == false ? .critical : .passing
        for check in checks where check.serviceID.isEmpty { status = max(status, check.status) }
        return status
    }

    /// A service instance's health as Consul computes it: the worst of its
    /// node's health and its own checks.
    public func health(of service: Catalog.Service, nodeHealth: Catalog.HealthStatus) -> Catalog.HealthStatus {
        var status = nodeHealth
        for check in checks where check.serviceID == service.id { status = max(status, check.status) }
        return status
    }
}

extension Agent {
    /// Whether the agent of `record`'s node is a live LAN member; nil for
    /// a node registered without an agent (`/v1/catalog/register`).
    public func agentIsLive(_ record: Catalog.NodeRecord) -> Bool? {
        guard record.owner == record.node else { return nil }
        return lan.instance.member(named: record.node)?.status.isLive ?? false
    }

    /// Where this datacenter's instances of `service` that are not
    /// critical listen (their own address, else their node's; IPs only),
    /// shuffled: the only places a tunnel may lead to.
    public func reachableInstances(of service: String) -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for record in catalog.replica.records.values {
            let nodeHealth = record.nodeHealth(agentLive: agentIsLive(record))
            guard nodeHealth != .critical else { continue }
            for s in record.services where s.name == service && s.port > 0 && record.health(of: s, nodeHealth: nodeHealth) != .critical {
                let address = s.address.isEmpty ? record.address : s.address
                if let e = Endpoint(ip: address, port: UInt16(s.port)) { endpoints.append(e) }
            }
        }
        var random = SystemRandomNumberGenerator()
        endpoints.shuffle(using: &random)
        return endpoints
    }
}
