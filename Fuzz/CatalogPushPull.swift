// The catalog's part of a push/pull exchange (Catalog.PushPullState: a
// digest, records, the ACL state), and the ACL state inside it as
// CatalogSync merges it: ACLStore entries whose bodies are policy or
// token JSON, a policy's rules in HCL or JSON.
@testable import Agent
@testable import CatalogCore

func fuzz(_ bytes: [UInt8]) {
    guard let state = try? Catalog.PushPullState.decode(bytes) else { return }
    fuzzRoundTrip(state, "catalog push/pull", encode: { $0.encode() }, decode: Catalog.PushPullState.decode)
    guard let entries = try? ACLStore.decode(state.acl) else { return }
    for entry in entries {
        switch entry.kind {
        case .policy: _ = ACLStore.decodePolicy(entry.body)
        case .token: _ = ACLStore.decodeToken(entry.body)
        case .bootstrap: break
        }
    }
}

func fuzzSeeds() -> [[UInt8]] {
    var web = Catalog.NodeRecord(node: "n1", id: "0d3c1b7e-41a2-4b6a-9d5e-2f8a7c6b5e4d", address: "10.0.0.1", datacenter: "dc1",
                                 taggedAddresses: ["lan": "10.0.0.1"], meta: ["rack": "r1"], owner: "n1", version: 9)
    web.services = [Catalog.Service(id: "web1", name: "web", tags: ["v1", "primary"], port: 8080, meta: ["version": "2"],
                                    weights: Catalog.Weights(passing: 10, warning: 1))]
    web.checks = [Catalog.Check(id: "service:web1", name: "web", status: .warning, output: "HTTP 429", serviceID: "web1",
                                serviceName: "web", type: "http", interval: "10s", timeout: "1s", target: "http://127.0.0.1:8080/")]
    let db = Catalog.NodeRecord(node: "db", address: "10.0.0.2", datacenter: "dc1", owner: "n2", version: 2)
    let policy = ACLStore.Entry(kind: .policy, id: "p1", version: 3, writer: "s1", body: Array(
        #"{"ID":"p1","Name":"web","Rules":"service_prefix \"web\" { policy = \"write\" }\nnode_prefix \"\" { policy = \"read\" }"}"#.utf8))
    let json = ACLStore.Entry(kind: .policy, id: "p2", version: 1, writer: "s1", body: Array(
        #"{"ID":"p2","Name":"ops","Rules":"{\"operator\":\"read\",\"key_prefix\":{\"\":{\"policy\":\"list\"}}}"}"#.utf8))
    let token = ACLStore.Entry(kind: .token, id: "t1", version: 4, writer: "s1", body: Array(
        #"{"AccessorID":"t1","SecretID":"s3cr3t","Policies":["p1"],"Local":false}"#.utf8))
    let bootstrap = ACLStore.Entry(kind: .bootstrap, id: "", version: 1, writer: "s1", body: [])
    return [
        Catalog.PushPullState(digest: [], records: []).encode(),
        Catalog.PushPullState(digest: [Catalog.DigestEntry(node: "n1", owner: "n1", version: 9),
                                       Catalog.DigestEntry(node: "gone", owner: "", version: 4, removed: true)],
                              records: [web, db]).encode(),
        Catalog.PushPullState(digest: [Catalog.DigestEntry(node: "db", owner: "n2", version: 2)], records: [db],
                              acl: ACLStore.encode([policy, json, token, bootstrap])).encode(),
    ]
}
