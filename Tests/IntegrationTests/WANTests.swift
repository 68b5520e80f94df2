// WAN federation between two datacenters on loopback: servers form the WAN
// pool, a client of dc1 reads dc2's catalog over HTTP and DNS through the
// servers, a dead dc2 server is skipped, and a datacenter whose servers all
// leave is gone. (The isolated-network version is FederationTests.)

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("WAN federation on loopback")
    struct WANOnLoopback {
        /// ServiceIDs of `name` in dc2 as `agent` reads them with `?dc=dc2&passing`, or the error text.
        static func remotePassing(_ agent: TestAgent, _ name: String, dc: String = "dc2") -> String {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/health/service/\(name)?dc=\(dc)&passing") else {
                return "unreachable"
            }
            guard r.status == 200, let list = try? JSONValue.parse(r.body).arrayValue else { return "\(r.status) \(r.text)" }
            return list.compactMap { $0["Service"]?["ID"]?.stringValue }.sorted().joined(separator: ",")
        }

        static func datacenters(_ agent: TestAgent) -> [String] {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/datacenters"), r.status == 200,
                  let list = try? JSONValue.parse(r.body).arrayValue else { return [] }
            return list.compactMap(\.stringValue)
        }

        @Test("servers federate over the WAN pool; a dc1 client reads dc2 over HTTP and DNS through them; dead servers are skipped; a datacenter that leaves is gone")
        func twoDatacentersFederate() throws {
            try Harness.run("wan") { h in
                guard Dig.path != nil else { throw h.fail(Dig.missing) }
                let octets = [70, 80, 90, 100, 110]
                // Servers also bind the WAN gossip (8302) and RPC (8300) ports.
                let ips = try LoopbackBlock.pick(count: 5, thirdOctets: octets, ports: h.ports)
                let wanIPs = try LoopbackBlock.pick(count: 5, thirdOctets: octets, ports: AgentPorts(gossip: 8302, http: 8300, dns: 8302))
                guard ips == wanIPs else { throw h.fail("no loopback block with every port free: \(ips) vs \(wanIPs)") }
                func agent(_ name: String, _ ip: String, dc: String, server: Bool, lanSeed: String, wanSeed: String?) -> TestAgent {
                    let a = h.addAgent(name: name, ip: ip, retryJoin: ip == lanSeed ? [] : [lanSeed])
                    var extra = ["-datacenter", dc]
                    if server { extra.append("-server") }
                    if let wanSeed, wanSeed != ip { extra += ["-retry-join-wan", wanSeed] }
                    a.command = [h.binary] + a.arguments + extra
                    return a
                }
                let s1 = agent("s1", ips[0], dc: "dc1", server: true, lanSeed: ips[0], wanSeed: nil)
                let c1 = agent("c1", ips[1], dc: "dc1", server: false, lanSeed: ips[0], wanSeed: nil)
                let s2 = agent("s2", ips[2], dc: "dc2", server: true, lanSeed: ips[2], wanSeed: ips[0])
                let s3 = agent("s3", ips[3], dc: "dc2", server: true, lanSeed: ips[2], wanSeed: ips[0])
                let c2 = agent("c2", ips[4], dc: "dc2", server: false, lanSeed: ips[2], wanSeed: nil)
                for a in [s1, c1, s2, s3, c2] { try h.start(a) }

                try h.eventually("the WAN pool lists the 3 servers alive") {
                    let r = try? h.fedagent(["members", "-wan", "-http-addr", s1.httpAddress])
                    let rows = (r?.stdout ?? "").split(separator: "\n").dropFirst()
                    let alive = rows.filter { $0.contains(" alive ") && $0.contains(" server ") }.map { String($0.split(separator: " ")[0]) }
                    return (alive.sorted() == ["s1.dc1", "s2.dc2", "s3.dc2"], r?.stdout ?? "no answer")
                }
                try h.eventually("c2 registers web") {
                    let body = Array(#"{"Name":"web","ID":"web-c2","Port":8080,"Check":{"TTL":"10m","Status":"passing"}}"#.utf8)
                    let r = try? HTTPClient.put(c2.ip, c2.ports.http, "/v1/agent/service/register", body: body)
                    return (r?.status == 200, "\(String(describing: r))")
                }
                try h.eventually("a dc1 client reads dc2's health through the servers") {
                    let ids = Self.remotePassing(c1, "web")
                    return (ids == "web-c2", ids)
                }
                try h.eventually("and resolves web.service.dc2.consul") {
                    let answer = try h.dig(c1, "web.service.dc2.consul")
                    return (answer.status == "NOERROR" && answer.addresses == [c2.ip], "\(answer)")
                }
                let srv = try h.dig(c1, "web.service.dc2.consul", "SRV")
                h.check(srv.services.map(\.target) == ["c2.node.dc2.consul."] && srv.additionalAddresses["c2.node.dc2.consul."] == [c2.ip],
                        "SRV from dc2 names dc2's node, with its address: \(srv)")
                let node = try h.dig(c1, "s3.node.dc2.consul")
                h.check(node.addresses == [s3.ip], "a dc2 node lookup: \(node)")
                h.check(Self.datacenters(c1) == ["dc1", "dc2"], "/v1/catalog/datacenters on a client: \(Self.datacenters(c1))")

                let unknown = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/catalog/nodes?dc=dc9")
                h.check(unknown.status == 500 && unknown.text.contains("No path to datacenter"), "an unknown datacenter: \(unknown)")
                let unknownName = try h.dig(c1, "web.service.dc9.consul")
                h.check(unknownName.status == "NXDOMAIN" && unknownName.hasSOA("consul."), "DNS for an unknown datacenter: \(unknownName)")

                // A blocking query on dc2, from dc1, returns at dc2's change.
                let first = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/health/service/web?dc=dc2")
                let index = first.header("X-Consul-Index") ?? "0"
                h.check(first.status == 200 && index != "0", "dc2's answer carries dc2's index: \(first)")
                // The change comes a second later, from another process, while the query waits.
                let registrar = try Spawn.start("/bin/sh", ["-c", "sleep 1; exec \"$0\" services register -name web -id web-c2b -port 8081 -http-addr \"$1\"",
                                                           h.binary, c2.httpAddress],
                                                environment: Spawn.environment(), stdoutPath: h.directory + "/registrar.log",
                                                stderrPath: h.directory + "/registrar.log")
                // Blocking queries may return early (Consul's clients loop on the
                // returned index): loop until the change shows, within a deadline.
                var watchIndex = index
                var seen: [String] = []
                for _ in 0..<10 where seen != ["web-c2", "web-c2b"] {
                    let changed = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/health/service/web?dc=dc2&index=\(watchIndex)&wait=30s", timeout: 45)
                    h.check(changed.status == 200, "a forwarded blocking query: \(changed)")
                    seen = (try? JSONValue.parse(changed.body).arrayValue)?.compactMap { $0["Service"]?["ID"]?.stringValue }.sorted() ?? []
                    watchIndex = changed.header("X-Consul-Index") ?? watchIndex
                }
                _ = Spawn.wait(registrar, timeout: 10)
                h.check(seen == ["web-c2", "web-c2b"], "the forwarded blocking query saw the change: \(seen)")

                // A dead dc2 server is skipped for the other.
                h.signal(s2, SIGKILL)
                _ = h.waitForExit(s2)
                for _ in 0..<5 {
                    let ids = Self.remotePassing(c1, "web")
                    h.check(ids == "web-c2,web-c2b", "dc2 still answers with s2 dead: \(ids)")
                }
                try h.start(s2)
                // Asked of s2 itself: s1 may still list the s2 of before the
                // kill as alive, and a leave sent before the join reaches nobody.
                try h.eventually("s2 rejoins the WAN pool after its restart") {
                    let r = try? h.fedagent(["members", "-wan", "-status", "alive", "-http-addr", s2.httpAddress])
                    return (r?.stdout.contains("s1.dc1") == true, r?.stdout ?? "")
                }

                // Both dc2 servers leave: dc2 is gone for dc1 (not failed, gone).
                h.signal(s2, SIGTERM)
                h.signal(s3, SIGTERM)
                _ = h.waitForExit(s2)
                _ = h.waitForExit(s3)
                try h.eventually("dc2 leaves /v1/catalog/datacenters once its servers left") {
                    let dcs = Self.datacenters(c1)
                    let members = (try? h.fedagent(["members", "-wan", "-http-addr", s1.httpAddress]))?.stdout ?? "no answer"
                    return (dcs == ["dc1"], "\(dcs); s1's WAN members:\n\(members)")
                }
                let gone = Self.remotePassing(c1, "web")
                h.check(gone.contains("No path to datacenter"), "dc2 has no path once its servers left: \(gone)")
            }
        }
    }
}
