// /v1/agent/metrics against a real agent: Consul's JSON shape, the
// Prometheus text format checked by promtool, and a real Prometheus
// scraping the agent and answering a query for one of its metrics.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Metrics")
    struct Metrics {
        static func findPrometheus(_ name: String) -> String? {
            ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first { access($0, X_OK) == 0 }
        }

        @Test("Consul's JSON metrics; Prometheus text that promtool accepts and Prometheus scrapes; 415 without a retention time")
        func metrics() throws {
            try Harness.run("metrics") { h in
                guard let promtool = Self.findPrometheus("promtool"), let prometheus = Self.findPrometheus("prometheus") else {
                    throw h.fail("prometheus and promtool are not installed (scripts/test.sh installs Debian's prometheus)")
                }
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [156, 166, 176], ports: h.ports)
                let config = h.directory + "/telemetry.json"
                FileIO.append(config, #"{"telemetry": {"prometheus_retention_time": "60s", "disable_hostname": true}}"#)
                let agent = h.addAgent(name: "mt1", ip: ips[0], retryJoin: [])
                agent.command = [h.binary] + agent.arguments + ["-server", "-config-file", config]
                let plain = h.addAgent(name: "mt2", ip: ips[1], retryJoin: [ips[0]])
                try h.start(agent)
                try h.start(plain)
                try h.eventually("both agents see each other") {
                    try h.requireRunning([agent, plain])
                    let n = (try? h.members(of: agent).filter { $0.status == MemberView.alive }.count) ?? 0
                    return (n == 2, "\(n) alive")
                }

                let json = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/metrics")
                let body = try JSONValue.parse(json.body)
                h.check(body.objectValue?.map(\.0) == ["Timestamp", "Gauges", "Points", "Counters", "Samples"], "shape: \(json)")
                let health = body["Gauges"]?.arrayValue?.first {
                    $0["Name"]?.stringValue == "consul.memberlist.health.score" && $0["Labels"]?["network"]?.stringValue == "lan"
                }
                h.check(health?["Value"]?.doubleValue == 0, "the LAN health score gauge: \(String(describing: health))")
                h.check(body["Timestamp"]?.stringValue?.hasSuffix(" +0000 UTC") == true, "Go's timestamp form")

                _ = try h.dig(agent, "mt1.node.consul", "A")
                _ = try h.dig(agent, "nobody.node.consul", "A")
                let text = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/metrics?format=prometheus")
                let lines = text.text.split(separator: "\n")
                h.check(lines.contains(#"consul_dns_response{rcode="NOERROR"} 1"#) && lines.contains(#"consul_dns_response{rcode="NXDOMAIN"} 1"#)
                        && lines.contains(#"consul_dns_domain_query_count{node="mt1"} 2"#),
                        "DNS answers are counted by RCODE and timed: \(lines.filter { $0.contains("dns") })")
                h.check(text.status == 200 && text.text.contains("# TYPE consul_memberlist_msg_alive counter"), "prometheus text: \(text.status)")
                let file = h.directory + "/metrics.txt"
                FileIO.append(file, text.text)
                let lint = try h.run("/bin/sh", ["-c", "exec \"$0\" check metrics < \"$1\"", promtool, file], label: "promtool")
                // Exit 1 is a parse error; 3 is naming lints (Consul's counters lack _total), accepted.
                h.check(lint.status == .exited(0) || lint.status == .exited(3), "promtool check metrics: \(lint)")

                let off = try HTTPClient.get(plain.ip, plain.ports.http, "/v1/agent/metrics?format=prometheus")
                h.check(off.status == 415 && off.text.contains("Prometheus is not enabled"), "without a retention time: \(off)")

                // A real Prometheus scrapes the agent every second.
                let port = try Self.freePort(ip: ips[0], from: 19090)
                let promConfig = h.directory + "/prometheus.yml"
                FileIO.append(promConfig, """
                    global:
                      scrape_interval: 1s
                    scrape_configs:
                      - job_name: fedagent
                        metrics_path: /v1/agent/metrics
                        params:
                          format: [prometheus]
                        static_configs:
                          - targets: ["\(agent.ip):\(agent.ports.http)"]

                    """)
                let server = try Spawn.start(prometheus, ["--config.file=\(promConfig)", "--storage.tsdb.path=\(h.directory)/tsdb",
                                                          "--web.listen-address=\(ips[0]):\(port)"],
                                             environment: Spawn.environment(), stdoutPath: h.directory + "/prometheus.log",
                                             stderrPath: h.directory + "/prometheus.log")
                h.onTeardown { _ = Spawn.stop(server) }
                try h.eventually("Prometheus answers a query for the agent's consul_memberlist_health_score", timeout: 90) {
                    let r = try? HTTPClient.get(ips[0], UInt16(port), "/api/v1/query?query=consul_memberlist_health_score")
                    let result = r.flatMap { try? JSONValue.parse($0.body) }?["data"]?["result"]?.arrayValue ?? []
                    let lan = result.first { $0["metric"]?["network"]?.stringValue == "lan" }
                    return (lan?["value"]?.arrayValue?.last?.stringValue == "0", r.map { $0.text } ?? "no answer yet")
                }
            }
        }

        @Test("monitor streams lines logged after it connected, in text or JSON; a bad level is a 400; -log-json writes JSON")
        func monitor() throws {
            try Harness.run("monitor") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [157, 167, 177], ports: h.ports)[0]
                let agent = h.addAgent(name: "mo1", ip: ip, retryJoin: [])
                agent.command = [h.binary] + agent.arguments + ["-log-json"]
                try h.start(agent)
                try h.eventually("mo1 answers HTTP") {
                    ((try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/self"))?.status == 200, "")
                }
                var monitors: [(path: String, pid: pid_t)] = []
                for (name, flags) in [("text", ["-log-level", "info"]), ("json", ["-log-json", "-log-level", "debug"])] {
                    let path = h.directory + "/monitor-\(name).out"
                    let pid = try Spawn.start(h.binary, ["monitor", "-http-addr", agent.httpAddress] + flags,
                                              environment: Spawn.environment(), stdoutPath: path, stderrPath: path)
                    h.onTeardown { _ = Spawn.stop(pid, graceful: false) }
                    monitors.append((path, pid))
                }
                // Both are connected once the agent holds their streams open: poll by logging until a line arrives.
                try h.eventually("a line logged after the monitors connected reaches both") {
                    h.signal(agent, SIGHUP)
                    let text = FileIO.readText(monitors[0].path), json = FileIO.readText(monitors[1].path)
                    return (text.contains("[INFO]  agent: caught SIGHUP: reloading the configuration")
                            && json.contains(#""@level":"info","@message":"caught SIGHUP: reloading the configuration","@module":"agent""#),
                            "text: \(text)\njson: \(json)")
                }
                let bad = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/monitor?loglevel=loud")
                h.check(bad.status == 400 && bad.text.contains("Unknown log level: loud"), "a bad level: \(bad)")
                let own = FileIO.readText(agent.logPath).split(separator: "\n").filter { $0.hasPrefix("{") }
                h.check(own.contains { $0.contains(#""@message":"caught SIGHUP: reloading the configuration""#) },
                        "-log-json: the agent's own log is JSON lines")
                for m in monitors { h.check(kill(m.pid, 0) == 0, "monitor \(m.path) still streaming") }
            }
        }

        /// A TCP port free on `ip`, from `from` up.
        static func freePort(ip: String, from: Int) throws -> Int {
            for port in from..<(from + 200) where LoopbackBlock.bindError(ip, UInt16(port), type: Int32(SOCK_STREAM.rawValue)) == 0 {
                return port
            }
            throw SpawnError(description: "no free port on \(ip) from \(from)")
        }
    }
}
