// ?filter= on the list endpoints of a real agent, with blocking queries.

import JSON
import Testing

extension Integration {
    @Suite("Filter expressions")
    struct FilterEndpoints {
        @Test("?filter= narrows agent, catalog and health lists; a bad expression is Consul's 400; blocking queries keep working")
        func filtersOnEveryList() throws {
            try Harness.run("filter") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [77, 87, 97, 107], ports: h.ports)[0]
                let agent = h.addAgent(name: "fl1", ip: ip, retryJoin: [])
                try h.start(agent)
                func put(_ path: String, _ body: String) -> Int {
                    (try? HTTPClient.put(agent.ip, agent.ports.http, path, body: Array(body.utf8)))?.status ?? 0
                }
                func get(_ path: String, _ filter: String) -> HTTPResponse? {
                    try? HTTPClient.get(agent.ip, agent.ports.http, path + (path.contains("?") ? "&" : "?") + "filter=" + Self.escape(filter), timeout: 45)
                }
                func list(_ path: String, _ filter: String, _ key: (JSONValue) -> String?) -> [String] {
                    guard let r = get(path, filter), r.status == 200, let v = try? JSONValue.parse(r.body) else { return ["status \(String(describing: get(path, filter)))"] }
                    if let a = v.arrayValue { return a.compactMap(key).sorted() }
                    return (v.objectValue ?? []).compactMap { key($0.1) }.sorted()
                }
                try h.eventually("fl1 answers") {
                    (put("/v1/agent/service/register", #"{"ID":"web1","Name":"web","Tags":["v1","primary"],"Meta":{"team":"a"},"Port":80,"Check":{"TTL":"300s","Status":"passing"}}"#) == 200, "")
                }
                h.check(put("/v1/agent/service/register", #"{"ID":"web2","Name":"web","Tags":["v2"],"Meta":{"team":"b"},"Port":81,"Check":{"TTL":"300s","Status":"critical"}}"#) == 200, "web2")
                h.check(put("/v1/agent/service/register", #"{"ID":"db1","Name":"db","Port":5432}"#) == 200, "db1")
                let id: (JSONValue) -> String? = { $0["CheckID"]?.stringValue ?? $0["ServiceID"]?.stringValue ?? $0["Service"]?["ID"]?.stringValue ?? $0["ID"]?.stringValue }
                h.check(list("/v1/agent/services", "Service == web", id) == ["web1", "web2"], "agent services by name")
                h.check(list("/v1/agent/services", #"primary in Tags and Meta.team == "a""#, id) == ["web1"], "tags and meta")
                h.check(list("/v1/agent/services", "Meta.missing != x", id) == ["db1", "web1", "web2"], "a missing meta key is not-present")
                h.check(list("/v1/agent/checks", "Status == critical", id) == ["service:web2"], "agent checks")
                h.check(list("/v1/catalog/service/web", "ServicePort == 81", id) == ["web2"], "catalog service")
                h.check(list("/v1/catalog/nodes", "Node matches \"^fl[0-9]$\"", { $0["Node"]?.stringValue }) == ["fl1"], "catalog nodes")
                h.check(list("/v1/health/service/web", "Checks.Status == critical", id) == ["web2"], "health service through the checks")
                h.check(list("/v1/health/service/web", "not (Checks.Status != passing)", id) == ["web1"], "not and !=")
                h.check(list("/v1/health/state/any", "ServiceName == db or CheckID == serfHealth", id) == ["serfHealth"], "health state")
                h.check(list("/v1/health/checks/web", "ServiceID == web1", id) == ["service:web1"], "health checks")
                let node = get("/v1/catalog/node/fl1", "Service == db")
                let services = node.flatMap { try? JSONValue.parse($0.body) }?["Services"]?.objectValue?.map(\.0) ?? []
                h.check(services == ["db1"], "catalog node's services: \(String(describing: node))")

                for bad in ["Service ==", "((Service == web)", "Service === web", "Tags matches \"(\""] {
                    let r = get("/v1/health/service/web", bad)
                    h.check(r?.status == 400 && r?.text.hasPrefix("Failed to create boolean expression evaluator") == true,
                            "\(bad) is a 400: \(String(describing: r))")
                }

                // A blocking query with a filter wakes when its filtered answer changes.
                let first = get("/v1/health/service/web?passing", "Service.ID == web2")
                let index = first?.header("X-Consul-Index") ?? "0"
                h.check(first.flatMap { try? JSONValue.parse($0.body).arrayValue?.count } == 0, "web2 is not passing yet")
                // The change comes a second later, from another process, while the query waits.
                let passer = try Spawn.start("/bin/sh", ["-c", "sleep 1; exec curl -s -X PUT \"http://$0/v1/agent/check/pass/service:web2\"",
                                                         agent.httpAddress],
                                             environment: Spawn.environment(), stdoutPath: h.directory + "/passer.log",
                                             stderrPath: h.directory + "/passer.log")
                var seen = 0
                var watchIndex = index
                for _ in 0..<10 where seen == 0 {
                    let r = get("/v1/health/service/web?passing&index=\(watchIndex)&wait=30s", "Service.ID == web2")
                    seen = r.flatMap { try? JSONValue.parse($0.body).arrayValue?.count } ?? 0
                    watchIndex = r?.header("X-Consul-Index") ?? watchIndex
                }
                _ = Spawn.wait(passer, timeout: 10)
                h.check(seen == 1, "the blocked filtered read returns web2 once it passes")
            }
        }

        static func escape(_ s: String) -> String {
            var out = ""
            for b in s.utf8 {
                let c = Character(Unicode.Scalar(b))
                if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2e || b == 0x5f { out.append(c) }
                else { out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2) }
            }
            return out
        }
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
