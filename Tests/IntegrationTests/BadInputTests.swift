// Untrusted input over HTTP: every malformed or oversized request gets the
// right 4xx with a message, and the registry is unharmed.

import Testing

extension Integration {
    @Suite("Bad input")
    struct BadInput {
        /// 65 metadata pairs: one more than Consul allows.
        static let manyMeta = "{" + (0..<65).map { "\"k\($0)\":\"v\"" }.joined(separator: ",") + "}"

        @Test("bad bodies, wrong types, huge bodies, unknown paths and methods get clear errors; registrations survive")
        func badRequestsLeaveTheRegistryIntact() throws {
            try Harness.run("badinput") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [75, 85, 95, 105, 115], ports: h.ports)[0]
                let agent = h.addAgent(name: "bad1", ip: ip, retryJoin: [])
                try h.start(agent)
                func put(_ path: String, _ body: String) -> HTTPResponse? {
                    try? HTTPClient.put(agent.ip, agent.ports.http, path, body: Array(body.utf8))
                }
                try h.eventually("\(agent.name) accepts a first registration") {
                    let r = put("/v1/agent/service/register", #"{"Name":"keep","Port":1}"#)
                    return (r?.status == 200, "\(String(describing: r))")
                }
                let cases: [(String, String, Int, String)] = [
                    ("/v1/agent/service/register", #"{"Port":80}"#, 400, "Missing service name"),
                    ("/v1/agent/service/register", #"{"Name":"web","Port":"#, 400, "decode"),
                    ("/v1/agent/service/register", #"{"Name":"web","Port":"eighty"}"#, 400, "Port"),
                    ("/v1/agent/service/register", #"{"Name":["web"]}"#, 400, "Name"),
                    ("/v1/agent/service/register", #"{"Name":"web","Tags":[1,2]}"#, 400, "Tags"),
                    ("/v1/agent/service/register", #"{"Name":"web","Check":{"TTL":"-5s"}}"#, 400, "TTL"),
                    ("/v1/agent/service/register", "[]", 400, "object"),
                    ("/v1/agent/service/register", String(repeating: "x", count: 600 * 1024), 413, ""),
                    ("/v1/agent/check/update/none", #"{"Status":"passing"}"#, 500, "does not have associated TTL"),
                    ("/v1/agent/service/deregister/none", "", 404, "Unknown service ID"),
                    ("/v1/no/such/path", "", 404, "404 page not found"),
                    // Fields past what every peer can read back (the wire carries 64 KiB strings).
                    ("/v1/agent/service/register", #"{"Name":"web","Tags":["\#(String(repeating: "t", count: 70_000))"]}"#, 400, "Service.Tags"),
                    ("/v1/agent/service/register", #"{"Name":"\#(String(repeating: "n", count: 600))"}"#, 400, "Service.Name"),
                    ("/v1/agent/service/register", #"{"Name":"web","Meta":\#(Self.manyMeta)}"#, 400, "Service.Meta"),
                    ("/v1/agent/service/register", #"{"Name":"web","Meta":{"consul-x":"1"}}"#, 400, "reserved"),
                    ("/v1/agent/service/register", #"{"Name":"web","Meta":{"a b":"1"}}"#, 400, "letters, digits"),
                    ("/v1/agent/service/register", #"{"Name":"web","Check":{"TTL":"10s","Notes":"\#(String(repeating: "x", count: 5000))"}}"#, 400, "Check.Notes"),
                    ("/v1/agent/check/register", #"{"Name":"c","HTTP":"http://127.0.0.1/","Interval":"10s","Body":"\#(String(repeating: "b", count: 70_000))"}"#, 400, "Body"),
                    ("/v1/catalog/register", #"{"Node":"ext","Address":"10.1.1.1","NodeMeta":\#(Self.manyMeta)}"#, 400, "NodeMeta"),
                    ("/v1/catalog/register", #"{"Node":"ext","Address":"10.1.1.1","Service":{"Service":"db","Meta":{"v":"\#(String(repeating: "v", count: 600))"}}}"#, 400, "Service.Meta"),
                ]
                for (path, body, status, mention) in cases {
                    let r = put(path, body)
                    h.check(r?.status == status && (mention.isEmpty || r?.text.contains(mention) == true),
                            "PUT \(path) with \(body.prefix(60)) should be \(status) mentioning \"\(mention)\": \(String(describing: r))")
                }
                let wrongMethod = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/service/register")
                h.check(wrongMethod.status == 405 && wrongMethod.header("Allow") == "PUT",
                        "GET on a PUT endpoint is 405 with Allow: \(wrongMethod)")
                let badIndex = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/services?index=abc")
                h.check(badIndex.status == 400, "a non-numeric index is a 400: \(badIndex)")
                // The agent still serves, and still has exactly what it had.
                let services = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/services")
                h.check(services.status == 200 && services.text.contains("\"keep\"") && !services.text.contains("\"web\""),
                        "the registry is unharmed: \(services)")
                let nodes = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/nodes")
                h.check(nodes.status == 200 && !nodes.text.contains("\"ext\""), "no refused external node was registered: \(nodes)")
            }
        }
    }
}
