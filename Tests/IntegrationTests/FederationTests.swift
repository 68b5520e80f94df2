// Federated datacenters that can only reach each other through their
// servers (testing ladder, step 4): 3 datacenters x (2 servers + 2 clients),
// each agent in its own network namespace, one LAN bridge per datacenter
// and one WAN bridge that only servers are on (Support/Namespaces.swift).
// Clients answer for other datacenters (HTTP ?dc=, DNS <name>.service.<dc>)
// by forwarding through their servers; losing a remote server or the whole
// WAN for a while loses nothing. Behaviour only: generous deadlines, no
// timing asserted. Needs root and `ip netns`; skipped otherwise.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Federated datacenters in network namespaces",
           .enabled("needs root and Linux network namespaces (`ip netns`); the reason is printed when skipped") {
               NetnsLab.isAvailable
           })
    struct FederatedDatacenters {

        @Test("3 isolated datacenters of 2 servers + 2 clients: one LAN pool each, dc2's web answered in dc1 over the WAN (DNS, health, catalog), members -wan lists the 6 servers, datacenters, unknown dc is 500; survives a killed dc2 server and a WAN cut; nothing left behind")
        func federation() throws {
            let prefix = try NetnsLab.run("federation", datacenters: 3, servers: 2, clients: 2) { h, lab in
                try lab.startAgents()

                // The lab itself: one LAN pool of 4 per datacenter, and no path
                // between datacenters except the servers' WAN links.
                try lab.waitForLANPools()
                let (dc1c1, dc1c2, dc1s1) = (lab.agent(1, "c1"), lab.agent(1, "c2"), lab.agent(1, "s1"))
                let (dc2c1, dc2c2, dc2s1, dc2s2) = (lab.agent(2, "c1"), lab.agent(2, "c2"), lab.agent(2, "s1"), lab.agent(2, "s2"))
                let dc3c1 = lab.agent(3, "c1")
                try checkIsolation(h, lab)

                // web on a dc2 client, passing; dc2 answers it locally, dc1 does not have it.
                let register = try lab.http(dc2c1, "/v1/agent/service/register", method: "PUT",
                                            body: #"{"Name":"web","Port":8080,"Check":{"TTL":"10m","Status":"passing"}}"#)
                h.check(register.status == 200, "registering web on \(dc2c1.label): \(register)")
                try h.eventually("\(dc2c2.label) answers web.service.consul with \(dc2c1.label)'s address (dc2's own catalog)") {
                    let r = try lab.dig(dc2c2, "web.service.consul")
                    return (r.status == "NOERROR" && r.addresses == [dc2c1.lanIP], "\(r)")
                }
                let local = try lab.dig(dc1c1, "web.service.consul")
                h.check(local.status == "NXDOMAIN", "dc1 has no web of its own: web.service.consul in dc1 should be NXDOMAIN: \(local)")
                h.note("---- the lab works; federation checks from here ----")

                // WAN pool: every server lists the 6 servers alive as sN.dcM.
                let allServers = lab.servers
                try waitForWAN(h, lab, observers: allServers, alive: allServers,
                               "every server's `members -wan` lists the 6 servers alive as sN.dcM (the WAN pool formed)")
                try checkWANTable(h, lab, observer: lab.agent(3, "s2"), servers: allServers)
                try checkWANJSON(h, lab, observer: dc2s1, servers: allServers)
                // Both pools are encrypted (the lab's key, from a config file).
                let stats = try lab.http(dc2s1, "/v1/agent/self")
                let encrypted = (try? JSONValue.parse(Array(stats.body.utf8)))?["Stats"].map { s in
                    [s["serf_lan"]?["encrypted"]?.stringValue, s["serf_wan"]?["encrypted"]?.stringValue]
                }
                h.check(encrypted == ["true", "true"], "\(dc2s1.label)'s LAN and WAN pools should be encrypted: \(stats)")
                // And the server port is mutual TLS with hostname checks, no handshake having failed.
                let rpc = (try? JSONValue.parse(Array(stats.body.utf8)))?["Stats"]?["rpc"]
                let tls = ["tls", "tls_outgoing", "tls_handshakes_failed", "tls_plaintext_refused"].map { rpc?[$0]?.stringValue }
                h.check(tls == ["required", "verify_server_hostname", "0", "0"], "\(dc2s1.label)'s server port should be mutual TLS: \(tls)")
                // ACLs are on: without the lab's default token, a stranger's token is refused even across datacenters.
                let stranger = try lab.http(dc1c1, "/v1/catalog/services?dc=dc2&token=00000000-0000-4000-8000-000000000000")
                h.check(stranger.status == 403 && stranger.body.contains("ACL not found"), "an unknown token read dc2's catalog: \(stranger)")
                // A token of dc1 travels with the request and is checked in dc2, which never issued it.
                let created = try lab.http(dc1c1, "/v1/acl/token", method: "PUT", body: #"{"Description": "dc1 only"}"#)
                let dc1Token = (try? JSONValue.parse(Array(created.body.utf8)))?["SecretID"]?.stringValue ?? ""
                h.check(created.status == 200 && !dc1Token.isEmpty, "creating a token in dc1: \(created)")
                let ownDC = try lab.http(dc1c1, "/v1/catalog/services?token=\(dc1Token)")
                h.check(ownDC.status == 200, "dc1 knows its own token: \(ownDC)")
                let remote = try lab.http(dc1c1, "/v1/catalog/services?dc=dc2&token=\(dc1Token)")
                h.check(remote.status == 403 && remote.body.contains("ACL not found"), "dc2 should check the token and not know it: \(remote)")

                let datacenters = try lab.http(dc1c1, "/v1/catalog/datacenters")
                h.check(datacenters.status == 200 && (try? stringArray(datacenters.body).sorted()) == ["dc1", "dc2", "dc3"],
                        "/v1/catalog/datacenters on \(dc1c1.label) should list dc1, dc2, dc3: \(datacenters)")

                // Cross-datacenter answers in dc1 (and dc3).
                try waitForCrossDC(h, lab, from: [dc1c1, dc1c2, dc3c1], web: dc2c1,
                                   "dc1's and dc3's clients answer dc2's web (DNS, health ?dc=dc2&passing, catalog ?dc=dc2)")
                let node = try lab.dig(dc1c1, "s1.node.dc2.consul")
                h.check(node.status == "NOERROR" && node.addresses == [dc2s1.lanIP],
                        "s1.node.dc2.consul asked in dc1 should be \(dc2s1.lanIP) (dc2's s1, not dc1's \(dc1s1.lanIP)): \(node)")
                for path in ["/v1/health/service/web?dc=dc9", "/v1/catalog/service/web?dc=dc9"] {
                    let unknown = try lab.http(dc1c1, path)
                    h.check(unknown.status == 500 && unknown.body.contains("No path to datacenter"),
                            "\(path) should be HTTP 500 `No path to datacenter`: \(unknown)")
                }

                // One of dc2's servers dies: dc2 is still reachable through the other.
                lab.kill(dc2s1)
                try waitForCrossDC(h, lab, from: [dc1c1, dc1c2], web: dc2c1,
                                   "with \(dc2s1.label) killed, dc1 still answers dc2's web through \(dc2s2.label)")
                let liveServers = allServers.filter { $0 !== dc2s1 }
                try waitForWAN(h, lab, observers: liveServers, alive: liveServers, notAlive: [dc2s1],
                               "the live servers list \(dc2s1.wanName) not alive and the other 5 alive")

                // The WAN is cut: cross-datacenter lookups fail, each datacenter still answers for itself.
                try lab.setWAN(up: false)
                try h.eventually("with the WAN cut, \(dc1c1.label)'s lookups of dc2's web fail (DNS and HTTP)") {
                    try h.requireRunning(lab.running.map(\.process))
                    let health = try lab.http(dc1c1, "/v1/health/service/web?dc=dc2&passing")
                    let dns = try lab.dig(dc1c1, "web.service.dc2.consul")
                    let answered = (health.status == 200 && (try? webInstances(health.body))?.isEmpty == false)
                        || (dns.status == "NOERROR" && !dns.addresses.isEmpty)
                    return (!answered, "\(health)\n\(dns)")
                }
                // The WAN pool notices, so that healing below has something to
                // repair. One failed member is enough: with every server cut off,
                // no peer can confirm a suspicion (Lifeguard), so the first one
                // takes about a minute and all of them several.
                try h.eventually("with the WAN cut, some live server's `members -wan` lists a live server of another datacenter not alive",
                                 timeout: 150) {
                    try h.requireRunning(lab.running.map(\.process))
                    var detail: [String] = []
                    var noticed = false
                    for observer in liveServers {
                        let r = try lab.fedagent(observer, ["members", "-wan"])
                        let statuses = MembersTable(r.stdout).statuses
                        let remote = liveServers.filter { $0.datacenter != observer.datacenter }
                        noticed = noticed || (r.status == .exited(0) && remote.contains { statuses[$0.wanName].map { $0 != "alive" } ?? false })
                        detail.append("  \(observer.label): \(r.status) \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
                    }
                    return (noticed, detail.joined(separator: "\n"))
                }
                let partitioned = try lab.dig(dc2c2, "web.service.consul")
                h.check(partitioned.status == "NOERROR" && partitioned.addresses == [dc2c1.lanIP],
                        "during the WAN cut dc2 still answers its own web: \(partitioned)")

                // The WAN is back: the pool heals and dc2's web (the same registration) is answered again.
                try lab.setWAN(up: true)
                try waitForWAN(h, lab, observers: liveServers, alive: liveServers, notAlive: [dc2s1], timeout: 120,
                               "after the WAN is restored, the 5 live servers list each other alive again")
                try waitForCrossDC(h, lab, from: [dc1c1, dc3c1], web: dc2c1,
                                   "after the WAN is restored, dc1 and dc3 answer dc2's web again")
                let after = try lab.http(dc1c2, "/v1/health/service/web?dc=dc2&passing")
                let instances = (try? webInstances(after.body)) ?? []
                h.check(instances == ["c1 web \(dc2c1.lanIP):8080"],
                        "the web registration survived: exactly \(dc2c1.label)'s instance, ID web, passing: \(after)")
            }
            let ip = try #require(NetnsLab.findProgram("ip"))
            let left = NetnsLab.namespaces(ip: ip, withPrefix: prefix + "-")
            #expect(left.isEmpty, "after teardown no namespace of \(prefix) may remain: \(left)")
        }

        // MARK: - Steps

        /// Each datacenter's LAN, and the WAN from servers, are reachable
        /// (controls); from clients, other datacenters' LANs and the WAN are
        /// not, nor other datacenters' LANs from servers.
        private func checkIsolation(_ h: Harness, _ lab: NetnsLab) throws {
            let (dc1c1, dc1s1, dc2s1, dc2c1) = (lab.agent(1, "c1"), lab.agent(1, "s1"), lab.agent(2, "s1"), lab.agent(2, "c1"))
            let dc2s1WAN = dc2s1.wanIP ?? "", dc1s1WAN = dc1s1.wanIP ?? ""
            let reachable: [(LabAgent, String, Int)] = [(dc1c1, dc1s1.lanIP, 8301), (dc1s1, dc2s1WAN, 8302)]
            for (from, ip, port) in reachable {
                let (reached, detail) = try lab.tcpReaches(from: from, to: ip, port: port)
                h.check(reached, "control: \(from.label) should reach \(ip):\(port) (connected or refused): \(detail)")
            }
            let blocked: [(LabAgent, String, Int)] = [
                (dc1c1, dc2s1.lanIP, 8301), (dc1c1, dc2c1.lanIP, 8301), (dc1c1, dc2s1WAN, 8302),
                (dc1c1, dc1s1WAN, 8302), (dc1s1, dc2s1.lanIP, 8301), (dc1s1, dc2c1.lanIP, 8301),
            ]
            for (from, ip, port) in blocked {
                let (reached, detail) = try lab.tcpReaches(from: from, to: ip, port: port)
                h.check(!reached, "\(from.label) must not reach \(ip):\(port): \(detail)")
            }
            h.note("isolation ok: dc1's client reaches its own LAN only, dc1's server its LAN and the WAN")
        }

        /// Polls `members -wan` on every observer until each lists every
        /// `alive` server alive and none of `notAlive` alive.
        private func waitForWAN(_ h: Harness, _ lab: NetnsLab, observers: [LabAgent], alive: [LabAgent],
                                notAlive: [LabAgent] = [], timeout: Double = 60, _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
            try h.eventually(what, timeout: timeout, sourceLocation: sourceLocation) {
                try h.requireRunning(lab.running.map(\.process), sourceLocation: sourceLocation)
                var allOK = true
                var detail: [String] = []
                for observer in observers {
                    let r = try lab.fedagent(observer, ["members", "-wan"], sourceLocation: sourceLocation)
                    let statuses = MembersTable(r.stdout).statuses
                    let ok = r.status == .exited(0) && alive.allSatisfy { statuses[$0.wanName] == "alive" }
                        && notAlive.allSatisfy { statuses[$0.wanName] != "alive" }
                        && statuses.keys.allSatisfy { name in (alive + notAlive).contains { $0.wanName == name } }
                    allOK = allOK && ok
                    detail.append("  \(observer.label) \(ok ? "ok" : "NOT YET"): \(r.status) "
                                  + "\(statuses.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
                                  + (ok ? "" : "\n    stdout: \(r.stdout.trimmingSpaces)\n    stderr: \(r.stderr.trimmingSpaces)"))
                }
                return (allOK, detail.joined(separator: "\n"))
            }
        }

        /// `members -wan`'s columns: Consul's header, node.dc, the WAN
        /// address with port 8302, alive, server, the datacenter.
        private func checkWANTable(_ h: Harness, _ lab: NetnsLab, observer: LabAgent, servers: [LabAgent]) throws {
            let r = try lab.fedagent(observer, ["members", "-wan"])
            let table = MembersTable(r.stdout)
            h.check(table.header == MembersTable.header, "`members -wan` header should be \(MembersTable.header): \(r)")
            h.check(table.rowCount == servers.count, "`members -wan` should have exactly \(servers.count) rows: \(r)")
            let column = { (name: String) in table.header.firstIndex(of: name) ?? -1 }
            for server in servers {
                let row = table.rows[server.wanName] ?? []
                let cell = { (name: String) in row.indices.contains(column(name)) ? row[column(name)] : "" }
                h.check(cell("Address") == "\(server.wanIP ?? ""):8302" && cell("Status") == "alive"
                        && cell("Type") == "server" && cell("DC") == server.dc,
                        "`members -wan` on \(observer.label): \(server.wanName) should be at \(server.wanIP ?? ""):8302, alive, server, \(server.dc); row \(row)\n\(r.stdout)")
            }
        }

        /// GET /v1/agent/members?wan=1: Consul's JSON for each server.
        private func checkWANJSON(_ h: Harness, _ lab: NetnsLab, observer: LabAgent, servers: [LabAgent]) throws {
            let r = try lab.http(observer, "/v1/agent/members?wan=1")
            let entries = (try? JSONValue.parse(r.body))?.arrayValue ?? []
            h.check(r.status == 200 && entries.count == servers.count, "/v1/agent/members?wan=1 should list the \(servers.count) servers: \(r)")
            for server in servers {
                let entry = entries.first { $0["Name"]?.stringValue == server.wanName }
                h.check(entry?["Addr"]?.stringValue == server.wanIP && entry?["Port"]?.intValue == 8302
                        && entry?["Status"]?.intValue == MemberView.alive && entry?["Tags"]?["dc"]?.stringValue == server.dc,
                        "/v1/agent/members?wan=1 on \(observer.label): \(server.wanName) should have Addr \(server.wanIP ?? ""), Port 8302, Status 1, Tags.dc \(server.dc): \(r)")
            }
        }

        /// Polls until every asker answers dc2's web, registered on `web`,
        /// by DNS (web.service.dc2.consul A), health (?dc=dc2&passing) and
        /// catalog (?dc=dc2).
        private func waitForCrossDC(_ h: Harness, _ lab: NetnsLab, from askers: [LabAgent], web: LabAgent,
                                    _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let expected = ["\(web.node) web \(web.lanIP):8080"]
            try h.eventually(what, timeout: 60, sourceLocation: sourceLocation) {
                try h.requireRunning(lab.running.map(\.process), sourceLocation: sourceLocation)
                var allOK = true
                var detail: [String] = []
                for asker in askers {
                    let dns = try lab.dig(asker, "web.service.\(web.dc).consul", sourceLocation: sourceLocation)
                    let health = try lab.http(asker, "/v1/health/service/web?dc=\(web.dc)&passing", sourceLocation: sourceLocation)
                    let catalog = try lab.http(asker, "/v1/catalog/service/web?dc=\(web.dc)", sourceLocation: sourceLocation)
                    let dnsOK = dns.status == "NOERROR" && dns.addresses == [web.lanIP]
                    let healthOK = health.status == 200 && (try? webInstances(health.body)) == expected
                    let catalogOK = catalog.status == 200 && (try? catalogInstances(catalog.body)) == expected
                    allOK = allOK && dnsOK && healthOK && catalogOK
                    detail.append("  \(asker.label): DNS \(dnsOK ? "ok" : "NOT YET"), health \(healthOK ? "ok" : "NOT YET"), "
                                  + "catalog \(catalogOK ? "ok" : "NOT YET")"
                                  + (dnsOK ? "" : "\n    \(dns)") + (healthOK ? "" : "\n    \(health)")
                                  + (catalogOK ? "" : "\n    \(catalog)"))
                }
                return (allOK, detail.joined(separator: "\n"))
            }
        }
    }
}

// MARK: - Response shapes

/// A health/service response as "node id address:port" per entry, sorted
/// (the service's address, else its node's).
private func webInstances(_ body: String) throws -> [String] {
    guard let entries = try JSONValue.parse(body).arrayValue else { throw SpawnError(description: "not an array: \(body)") }
    return entries.map { entry in
        let node = entry["Node"]?["Node"]?.stringValue ?? "?"
        let serviceAddress = entry["Service"]?["Address"]?.stringValue ?? ""
        let address = serviceAddress.isEmpty ? entry["Node"]?["Address"]?.stringValue ?? "?" : serviceAddress
        let id = entry["Service"]?["ID"]?.stringValue ?? "?"
        return "\(node) \(id) \(address):\(entry["Service"]?["Port"]?.intValue ?? -1)"
    }.sorted()
}

/// A catalog/service response in the same form as `webInstances`.
private func catalogInstances(_ body: String) throws -> [String] {
    guard let entries = try JSONValue.parse(body).arrayValue else { throw SpawnError(description: "not an array: \(body)") }
    return entries.map { entry in
        let serviceAddress = entry["ServiceAddress"]?.stringValue ?? ""
        let address = serviceAddress.isEmpty ? entry["Address"]?.stringValue ?? "?" : serviceAddress
        return "\(entry["Node"]?.stringValue ?? "?") \(entry["ServiceID"]?.stringValue ?? "?") \(address):\(entry["ServicePort"]?.intValue ?? -1)"
    }.sorted()
}

private func stringArray(_ body: String) throws -> [String] {
    guard let values = try JSONValue.parse(body).arrayValue else { throw SpawnError(description: "not an array: \(body)") }
    return values.compactMap(\.stringValue)
}
