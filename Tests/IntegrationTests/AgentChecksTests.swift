// Checks registered on their own through the agent API, every check kind
// against a real agent, the agent health endpoints, and what every Consul
// agent has (the servers' `consul` service, Stats.consul, version, host).

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Agent checks and Consul's standard surface")
    struct AgentChecks {
        @Test("check register/deregister, script checks off by default, UDP/alias/HTTP checks, agent health codes")
        func checksThroughTheAgentAPI() throws {
            try Harness.run("checks") { h in
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [74, 84, 94, 104], ports: h.ports)
                let plain = h.addAgent(name: "ck1", ip: ips[0], retryJoin: [])
                let scripted = h.addAgent(name: "ck2", ip: ips[1], retryJoin: [])
                scripted.command = [h.binary] + scripted.arguments + ["-enable-script-checks"]
                try h.start(plain)
                try h.start(scripted)
                func put(_ a: TestAgent, _ path: String, _ body: String = "") -> HTTPResponse? {
                    try? HTTPClient.put(a.ip, a.ports.http, path, body: Array(body.utf8))
                }
                func checks(_ a: TestAgent) -> JSONValue {
                    (try? HTTPClient.get(a.ip, a.ports.http, "/v1/agent/checks")).flatMap { try? JSONValue.parse($0.body) } ?? .null
                }
                try h.eventually("ck1 answers") { (put(plain, "/v1/agent/service/register", #"{"Name":"web","Port":80}"#)?.status == 200, "") }

                // What a stranger with API access would try: a script check is refused and nothing is registered.
                let marker = h.directory + "/script-ran"
                let script = put(plain, "/v1/agent/check/register", #"{"Name":"evil","Args":["/bin/sh","-c","touch \#(marker)"],"Interval":"1s"}"#)
                h.check(script?.status == 400 && script?.text.contains("enable_script_checks") == true, "script check refused: \(String(describing: script))")
                h.check(checks(plain)["evil"] == nil, "nothing registered")
                h.check(put(plain, "/v1/agent/check/register", #"{"Name":"x","TTL":"10s","ServiceID":"nope"}"#)?.status == 404, "unknown ServiceID is a 404")
                h.check(put(plain, "/v1/agent/check/register", #"{"TTL":"10s"}"#)?.status == 400, "a check needs a name")

                // A node check and a service check, several on one service.
                h.check(put(plain, "/v1/agent/check/register", #"{"Name":"disk","TTL":"60s","Status":"passing"}"#)?.status == 200, "node TTL check")
                h.check(put(plain, "/v1/agent/check/register", #"{"ID":"web-ttl","Name":"web ttl","TTL":"60s","ServiceID":"web","Status":"passing"}"#)?.status == 200, "service TTL check")
                h.check(put(plain, "/v1/agent/check/register", #"{"ID":"web-udp","Name":"udp","UDP":"\#(ips[0]):9","Interval":"1s","ServiceID":"web"}"#)?.status == 200, "UDP check")
                h.check(put(plain, "/v1/agent/check/register", #"{"ID":"web-alias","Name":"alias","AliasService":"web"}"#)?.status == 200, "alias check")
                let http = #"{"ID":"web-http","Name":"http","HTTP":"http://\#(plain.ip):\#(plain.ports.http)/v1/status/leader","Method":"GET","Header":{"X-Test":["1"]},"Interval":"1s","ServiceID":"web","FailuresBeforeCritical":2}"#
                h.check(put(plain, "/v1/agent/check/register", http)?.status == 200, "HTTP check")
                try h.eventually("HTTP check passes, the UDP check to a closed port is critical, the alias follows web") {
                    let c = checks(plain)
                    let states = ["disk", "web-ttl", "web-udp", "web-http", "web-alias"].map { c[$0]?["Status"]?.stringValue ?? "-" }
                    return (states == ["passing", "passing", "critical", "passing", "critical"], "\(states)")
                }
                func health(_ path: String) -> Int { (try? HTTPClient.get(plain.ip, plain.ports.http, path))?.status ?? 0 }
                h.check(health("/v1/agent/health/service/id/web") == 503, "web is critical: 503")
                h.check(put(plain, "/v1/agent/check/deregister/web-udp")?.status == 200, "deregister the UDP check")
                h.check(put(plain, "/v1/agent/check/deregister/web-udp")?.status == 404, "twice is a 404")
                try h.eventually("without the UDP check web and its alias pass") {
                    let c = checks(plain)
                    return (c["web-alias"]?["Status"]?.stringValue == "passing" && health("/v1/agent/health/service/id/web") == 200,
                            "\(c["web-alias"]?["Output"]?.stringValue ?? "-")")
                }
                h.check(put(plain, "/v1/agent/check/warn/web-ttl")?.status == 200, "warn")
                h.check(health("/v1/agent/health/service/name/web") == 429, "warning: 429")
                let text = try HTTPClient.get(plain.ip, plain.ports.http, "/v1/agent/health/service/name/web?format=text")
                h.check(text.text.hasPrefix("warning"), "text format: \(text)")
                let byName = try HTTPClient.get(plain.ip, plain.ports.http, "/v1/agent/health/service/name/web")
                let entry = (try? JSONValue.parse(byName.body))?[0]
                h.check(entry?["AggregatedStatus"]?.stringValue == "warning" && entry?["Service"]?["ID"]?.stringValue == "web",
                        "by name: \(byName)")
                h.check(health("/v1/agent/health/service/name/none") == 404 && health("/v1/agent/health/service/id/none") == 404, "unknown: 404")

                // With script checks enabled: exit codes map to health.
                h.check(put(scripted, "/v1/agent/check/register", #"{"Name":"ok","Args":["/bin/sh","-c","echo all good"],"Interval":"1s"}"#)?.status == 200, "script check")
                h.check(put(scripted, "/v1/agent/check/register", #"{"Name":"warn","Args":["/bin/sh","-c","exit 1"],"Interval":"1s"}"#)?.status == 200, "warning script")
                try h.eventually("scripts ran") {
                    let c = checks(scripted)
                    let s = [c["ok"]?["Status"]?.stringValue ?? "-", c["ok"]?["Output"]?.stringValue ?? "-", c["warn"]?["Status"]?.stringValue ?? "-"]
                    return (s == ["passing", "all good\n", "warning"], "\(s)")
                }
                h.check(access(marker, F_OK) != 0, "the refused script never ran")
            }
        }

        @Test("servers register the consul service; /v1/agent/self has Stats.consul and xDS; version and host answer")
        func consulStandardSurface() throws {
            try Harness.run("surface") { h in
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [75, 85, 95, 105], ports: h.ports)
                let server = h.addAgent(name: "sv1", ip: ips[0], retryJoin: [])
                server.command = [h.binary] + server.arguments + ["-server"]
                let client = h.addAgent(name: "cl1", ip: ips[1], retryJoin: [server.gossipAddress])
                try h.start(server)
                try h.start(client)
                try h.eventually("the client sees the consul service on the server") {
                    let r = try? HTTPClient.get(client.ip, client.ports.http, "/v1/catalog/service/consul")
                    let list = r.flatMap { try? JSONValue.parse($0.body).arrayValue } ?? []
                    return (list.count == 1 && list.first?["Node"]?.stringValue == "sv1" && list.first?["ServicePort"]?.intValue == 8300,
                            "\(String(describing: r))")
                }
                let services = try HTTPClient.get(server.ip, server.ports.http, "/v1/agent/services")
                h.check(!services.text.contains("\"consul\""), "not an agent service: \(services.text)")
                h.check((try? HTTPClient.put(server.ip, server.ports.http, "/v1/agent/service/deregister/consul", body: []))?.status == 404,
                        "the agent API cannot deregister it")
                func stats(_ a: TestAgent) -> JSONValue? {
                    (try? HTTPClient.get(a.ip, a.ports.http, "/v1/agent/self")).flatMap { try? JSONValue.parse($0.body) }
                }
                let s = stats(server)
                h.check(s?["Stats"]?["consul"]?["server"]?.stringValue == "true" && s?["Stats"]?["consul"]?["leader"]?.stringValue == "true"
                        && s?["Stats"]?["consul"]?["leader_addr"]?.stringValue?.hasPrefix(server.ip) == true
                        && s?["Stats"]?["consul"]?["known_datacenters"] != nil, "server Stats.consul: \(String(describing: s?["Stats"]?["consul"]))")
                h.check(s?["xDS"]?["Port"]?.intValue == -1, "xDS says there is no xDS server")
                try h.eventually("the client knows one server") {
                    let c = stats(client)?["Stats"]?["consul"]
                    return (c?["server"]?.stringValue == "false" && c?["known_servers"]?.stringValue == "1", "\(String(describing: c))")
                }
                let version = try HTTPClient.get(client.ip, client.ports.http, "/v1/agent/version")
                h.check((try? JSONValue.parse(version.body))?["Version"]?.stringValue?.isEmpty == false, "version: \(version)")
                let host = try HTTPClient.get(client.ip, client.ports.http, "/v1/agent/host")
                let hostJSON = try? JSONValue.parse(host.body)
                h.check(hostJSON?["Host"]?["os"]?.stringValue == "linux" && (hostJSON?["Memory"]?["total"]?.doubleValue ?? 0) > 0
                        && (hostJSON?["CPU"]?.arrayValue?.count ?? 0) >= 1, "host: \(host.text.prefix(400))")
                // A service with its own address carries Consul's default tagged addresses.
                _ = try? HTTPClient.put(client.ip, client.ports.http, "/v1/agent/service/register",
                                        body: Array(#"{"Name":"db","Address":"10.1.2.3","Port":5432}"#.utf8))
                let db = try HTTPClient.get(client.ip, client.ports.http, "/v1/agent/service/db")
                let tagged = (try? JSONValue.parse(db.body))?["TaggedAddresses"]
                h.check(tagged?["lan_ipv4"]?["Address"]?.stringValue == "10.1.2.3" && tagged?["wan_ipv4"]?["Port"]?.intValue == 5432,
                        "tagged addresses: \(db.text)")
                try h.eventually("consul.service.consul answers with the server") {
                    let answer = try? h.dig(client, "consul.service.consul", "A")
                    return (answer?.addresses == [server.ip], "\(String(describing: answer))")
                }
            }
        }
    }
}
