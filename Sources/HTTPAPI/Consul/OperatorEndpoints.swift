import Agent
import JSON
import Crypto
import Membership

/// `/v1/operator/keyring`, Consul's shapes: GET lists the keys of the LAN
/// pool (and the WAN pool on a server) with how many members hold each;
/// POST installs, PUT makes primary, DELETE removes `{"Key": "..."}` on
/// every member. Never reachable over the server port (see `RPCAllowList`).
extension ConsulAPI {
    func routeOperator(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        guard path == ["keyring"] else { return respond(Self.notFound()) }
        if let bad = Self.require(request, "GET", "POST", "PUT", "DELETE") { return respond(bad) }
        let method = request.method == "HEAD" ? "GET" : request.method
        let localOnly = Self.isTrue(request, "local-only")
        if localOnly && method != "GET" { return respond(Self.text(400, "local-only can only be used when listing keys")) }
        var operation: Keyring.Operation?
        if method != "GET" {
            guard let body = try? JSONValue.parse(request.body), body.objectValue != nil,
                  let text = body.value(forKeyIgnoringCase: "Key")?.stringValue else {
                return respond(Self.text(400, "Request decode failed: want {\"Key\": \"<base64 key>\"}"))
            }
            let key: AESGCM.Key
            switch Keyring.parseKey(text) {
            case .success(let k): key = k
            case .failure(let error): return respond(Self.text(400, "Invalid key: \(error)"))
            }
            operation = method == "POST" ? .install(key) : method == "PUT" ? .use(key) : .remove(key)
        }
        agent.keyring(operation, localOnly: localOnly) { result in
            switch result {
            case .failure(let error):
                respond(Self.text(500, error.description))
            case .success(let pools):
                let failures = pools.flatMap { pool in pool.report.messages.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } }
                if operation != nil {
                    guard failures.isEmpty else {
                        let total = pools.reduce(0) { $0 + $1.report.numNodes }
                        return respond(Self.text(500, "\(failures.count)/\(total) nodes reported failure:\n" + failures.joined(separator: "\n")))
                    }
                    return respond(Self.empty())
                }
                respond(Self.json(request) { w in
                    w.beginArray()
                    for pool in pools { Self.writeKeyring(pool, &w) }
                    w.endArray()
                })
            }
        }
    }

    static func writeKeyring(_ pool: Agent.KeyringPoolReport, _ w: inout JSONWriter) {
        func counts(_ map: [String: Int]) {
            w.beginObject()
            for (key, n) in map.sorted(by: { $0.key < $1.key }) { w.field(key, n) }
            w.endObject()
        }
        w.beginObject()
        w.field("WAN", pool.wan)
        w.field("Datacenter", pool.datacenter)
        w.field("Segment", "")
        w.field("Partition", "")
        w.key("Keys")
        counts(pool.report.keys)
        w.key("PrimaryKeys")
        counts(pool.report.primaryKeys)
        w.field("NumNodes", pool.report.numNodes)
        w.key("Messages")
        w.beginObject()
        for (node, message) in pool.report.messages.sorted(by: { $0.key < $1.key }) { w.field(node, message) }
        w.endObject()
        w.endObject()
    }
}
