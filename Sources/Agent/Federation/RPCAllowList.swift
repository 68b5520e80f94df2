/// What the server port answers, whoever asks: federated reads of the
/// catalog and health (the `?dc=` forms), DNS questions, the datacenter
/// list and its WAN coordinates, and tunnels (which the gateway further
/// limits to registered, healthy instances). Nothing else: no write of any kind, no
/// `/v1/agent/*`, no `/v1/operator/*`. The one place to add a request
/// kind that federation needs (KV reads, prepared queries), on purpose.
public enum RPCAllowList {
    /// Why `request` may not travel over the server port; nil if it may.
    public static func refusal(of request: RPC.Request) -> String? {
        switch request {
        case .dns, .datacenters, .tunnel: return nil
        case .http(let method, let target, let body): return refusal(method: method, target: target, body: body)
        }
    }

    /// Reads answered from a datacenter's catalog: `/v1/<area>/<route>[/<name>]`.
    private static let reads: [String: [String: Bool]] = [
        // route → whether it takes a name segment
        "catalog": ["datacenters": false, "nodes": false, "services": false, "service": true, "node": true],
        "health": ["service": true, "node": true, "checks": true, "state": true],
        // A client's servers know the WAN coordinates; the client asks them.
        "coordinate": ["datacenters": false],
    ]

    /// The HTTP API splits the path on raw `/` and decodes each segment
    /// after, so comparing raw segments with literals that hold no `%`
    /// agrees with its routing exactly; a name segment is never routed on.
    static func refusal(method: String, target: String, body: [UInt8]) -> String? {
        let what = "\(method) \(target.prefix(200))"
        guard method == "GET" || method == "HEAD" else { return "rpc: \(what) refused: only reads travel between datacenters" }
        guard body.isEmpty else { return "rpc: \(what) refused: a read carries no body" }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path.hasPrefix("/") else { return "rpc: \(what) refused: not an origin-form path" }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[0] == "v1", let routes = reads[String(segments[1])],
              let named = routes[String(segments[2])], segments.count == (named ? 4 : 3),
              !named || !segments[3].isEmpty else {
            return "rpc: \(what) refused: only catalog and health reads travel between datacenters"
        }
        return nil
    }
}
