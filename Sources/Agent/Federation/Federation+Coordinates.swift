import Membership
import Sockets

/// One datacenter's servers and their WAN coordinates (Consul's
/// `DatacenterMap`): node names without the `.dc` suffix, by name.
public struct DatacenterCoordinates: Sendable {
    public var datacenter: String
    public var coordinates: [(node: String, coordinate: Vivaldi.Coordinate)]
}

extension Federation {
    /// On a server: every datacenter of the WAN pool, by name, with the
    /// coordinates of its servers that we know (servers that left are
    /// gone). Nil on a client, which has no WAN pool.
    public func wanCoordinates() -> [DatacenterCoordinates]? {
        guard let wan else { return nil }
        var byDatacenter: [String: [(node: String, coordinate: Vivaldi.Coordinate)]] = [:]
        for m in wan.members where m.status != .left {
            guard let dc = MemberTags.decode(m.meta).first(where: { $0.0 == "dc" })?.1 else { continue }
            var entries = byDatacenter[dc] ?? []
            if let c = wan.coordinate(of: m.name) {
                let suffix = "." + dc
                let node = m.name.hasSuffix(suffix) ? String(m.name.dropLast(suffix.count)) : m.name
                entries.append((node, c))
            }
            byDatacenter[dc] = entries
        }
        return byDatacenter.keys.sorted().map { dc in
            DatacenterCoordinates(datacenter: dc, coordinates: (byDatacenter[dc] ?? []).sorted { $0.node < $1.node })
        }
    }

    /// Sends `request` to a live server of our own datacenter: what only
    /// servers know (the WAN coordinates), asked by a client. The server
    /// answers it itself (the hop count says it must not go further).
    public func askLocalServer(_ request: RPC.Request, done: @escaping (RPC.Answer) -> Void) {
        let servers = localServers()
        guard !servers.isEmpty else { return done(.failure(RPC.Failure(.noServers, "No known Consul servers"))) }
        attempt(RPC.Envelope(datacenter: agent.config.datacenter, hops: 2, request: request), on: servers,
                of: agent.config.datacenter, timeout: Self.requestTimeout, done: done)
    }
}
