// `fedagent reload`, PUT /v1/agent/reload and SIGHUP against a real agent.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Reload")
    struct Reload {
        @Test("reload re-reads files: services come and go, script switches apply, fixed settings are reported, a bad file is refused")
        func reloadAppliesFiles() throws {
            try Harness.run("reload") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [76, 86, 96, 106], ports: h.ports)[0]
                let agent = h.addAgent(name: "rl1", ip: ip, retryJoin: [])
                let config = h.directory + "/reload.json"
                func write(_ text: String) {
                    unlink(config)
                    FileIO.append(config, text)
                }
                write(#"{"services": [{"name": "web", "port": 80}]}"#)
                agent.command = [h.binary] + agent.arguments + ["-config-file", config]
                try h.start(agent)
                func services() -> [String] {
                    let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/services")
                    return (r.flatMap { try? JSONValue.parse($0.body).objectValue?.map(\.0) } ?? []).sorted()
                }
                try h.eventually("web from the file is registered") { (services() == ["web"], "\(services())") }

                write(#"{"services": [{"name": "api", "port": 81}], "enable_local_script_checks": true, "datacenter": "elsewhere","#
                      + #" "checks": [{"name": "script", "args": ["/bin/sh", "-c", "echo ran"], "interval": "1s"}]}"#)
                let result = try h.fedagent(["reload", "-http-addr", agent.httpAddress])
                h.check(result.status == .exited(0) && result.stdout.contains("Configuration reload triggered")
                        && result.stdout.contains("needs a restart: datacenter"), "reload: \(result)")
                h.check(services() == ["api"], "web removed, api added: \(services())")
                try h.eventually("the file's script check runs (local script checks now enabled)") {
                    let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/checks")
                    let c = r.flatMap { try? JSONValue.parse($0.body) }?["script"]
                    return (c?["Output"]?.stringValue == "ran\n", "\(String(describing: c))")
                }

                write(#"{"services": [{"name": "api", "port": 81}, {"name": "db", "port": 5432}]}"#)
                h.signal(agent, SIGHUP)
                try h.eventually("SIGHUP reloads too") { (services() == ["api", "db"], "\(services())") }
                h.check(agent.pid.map { kill($0, 0) == 0 } ?? false, "the agent is still running after SIGHUP")

                // dns_config changes without a restart: the node TTL DNS answers with.
                func nodeTTL() -> Int? { (try? h.dig(agent, "rl1.node.consul", "A"))?.answer.first?.ttl }
                h.check(nodeTTL() == 0, "Consul's default node TTL is 0: \(String(describing: nodeTTL()))")
                write(#"{"services": [{"name": "api", "port": 81}, {"name": "db", "port": 5432}], "dns_config": {"node_ttl": "42s"}}"#)
                let dns = try h.fedagent(["reload", "-http-addr", agent.httpAddress])
                h.check(dns.status == .exited(0) && dns.stdout.contains("dns_config") && !dns.stdout.contains("needs a restart"),
                        "dns_config is applied, not deferred: \(dns)")
                try h.eventually("DNS answers with the new node TTL") { (nodeTTL() == 42, "\(String(describing: nodeTTL()))") }

                write(#"{"services": [{"name": "#)
                let bad = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/reload", body: [])
                h.check(bad.status == 500 && bad.text.contains("Failed to reload configs"), "a broken file is refused: \(bad)")
                h.check(services() == ["api", "db"], "and nothing changed: \(services())")
            }
        }
    }
}
