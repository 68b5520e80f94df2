// The `catalog`, `services` and `info` commands against two real agents:
// a registration made with the CLI on one agent is listed by the CLI on the
// other, and errors come back as exit 1 with the agent's message.

import Testing

extension Integration {
    @Suite("Catalog command line")
    struct CatalogCLI {
        /// `fedagent args... -http-addr <agent>`.
        static func run(_ h: Harness, _ agent: TestAgent, _ arguments: [String],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
            try h.fedagent(arguments + ["-http-addr", agent.httpAddress], sourceLocation: sourceLocation)
        }

        static func lines(_ text: String) -> [String] {
            text.split(separator: "\n").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        }

        /// Whitespace-separated cells of each output line.
        static func cells(_ text: String) -> [[String]] {
            lines(text).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        }

        @Test("services register/deregister on one agent show in catalog services/nodes on the other; info and errors")
        func registerListDeregister() throws {
            try Harness.run("catalog-cli") { h in
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [79, 89, 99, 109, 119], ports: h.ports)
                let agents = ips.enumerated().map { i, ip in h.addAgent(name: "cli\(i + 1)", ip: ip, retryJoin: [ips[0]]) }
                for agent in agents { try h.start(agent) }
                let (a1, a2) = (agents[0], agents[1])

                try h.eventually("`services register` on \(a1.name) succeeds") {
                    let r = try Self.run(h, a1, ["services", "register", "-name", "web", "-port", "8080", "-tag", "v1"])
                    return (r.status == .exited(0) && r.stdout.contains("Registered service: web"), "\(r)")
                }
                try h.eventually("`catalog services` on \(a2.name) lists web") {
                    let r = try Self.run(h, a2, ["catalog", "services"])
                    return (r.status == .exited(0) && Self.lines(r.stdout).contains("web"), "\(r)")
                }
                let tagged = try Self.run(h, a2, ["catalog", "services", "-tags"])
                h.check(Self.cells(tagged.stdout).contains(["web", "v1"]), "`catalog services -tags` shows web's v1 tag: \(tagged)")

                try h.eventually("`catalog nodes` on \(a2.name) lists both nodes") {
                    let r = try Self.run(h, a2, ["catalog", "nodes"])
                    let rows = Self.cells(r.stdout)
                    let ok = r.status == .exited(0) && rows.first == ["Node", "ID", "Address", "DC"]
                        && rows.dropFirst().map { $0.first ?? "" } == ["cli1", "cli2"]
                        && rows.dropFirst().allSatisfy { $0.count == 4 && $0[1].count == 8 && $0[3] == "dc1" }
                    return (ok, "\(r)")
                }
                let providers = try Self.run(h, a2, ["catalog", "nodes", "-service", "web"])
                h.check(Self.cells(providers.stdout).dropFirst().map { $0.first ?? "" } == ["cli1"],
                        "`catalog nodes -service web` lists cli1 only: \(providers)")
                let detailed = try Self.run(h, a2, ["catalog", "nodes", "-detailed"])
                h.check(Self.cells(detailed.stdout).first == ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"]
                        && detailed.stdout.contains("lan=\(a1.ip)"),
                        "`catalog nodes -detailed` adds TaggedAddresses and Meta: \(detailed)")

                // The environment variable instead of -http-addr.
                let dcs = try h.fedagent(["catalog", "datacenters"], environment: ["FEDAGENT_HTTP_ADDR=\(a2.httpAddress)"])
                h.check(dcs.status == .exited(0) && dcs.stdout == "dc1\n", "`catalog datacenters` prints dc1: \(dcs)")

                // Consul's file form, registered on the second agent.
                let file = h.directory + "/db.json"
                FileIO.append(file, #"{"Service": {"Name": "db", "ID": "db-1", "Port": 5432, "Tags": ["primary"]}}"#)
                let fromFile = try Self.run(h, a2, ["services", "register", file])
                h.check(fromFile.status == .exited(0) && fromFile.stdout.contains("Registered service: db"),
                        "`services register FILE` registers db: \(fromFile)")
                try h.eventually("\(a1.name) lists db on cli2 only") {
                    let r = try Self.run(h, a1, ["catalog", "services", "-node", "cli2", "-tags"])
                    return (Self.cells(r.stdout) == [["db", "primary"]], "\(r)")
                }

                let gone = try Self.run(h, a1, ["services", "deregister", "-id", "web"])
                h.check(gone.status == .exited(0) && gone.stdout.contains("Deregistered service: web"),
                        "`services deregister -id web`: \(gone)")
                for agent in agents {
                    try h.eventually("\(agent.name) no longer lists web") {
                        let r = try Self.run(h, agent, ["catalog", "services"])
                        return (r.status == .exited(0) && Self.lines(r.stdout) == ["db"], "\(r)")
                    }
                }
                let byFile = try Self.run(h, a2, ["services", "deregister", file])
                h.check(byFile.status == .exited(0) && byFile.stdout.contains("Deregistered service: db-1"),
                        "`services deregister FILE` uses the file's ID: \(byFile)")

                let info = try Self.run(h, a1, ["info"])
                h.check(info.status == .exited(0) && Self.lines(info.stdout).contains("agent:")
                        && info.stdout.contains("\tmembers = "), "`info` prints agent: and serf_lan: sections: \(info)")
                h.check(Self.lines(info.stdout).contains("metrics:") && info.stdout.contains("\thealth_score_lan = 0")
                        && info.stdout.contains("\tresident_mb = "), "`info` ends with the metrics' key figures: \(info)")

                let unnamed = try Self.run(h, a1, ["services", "register", "-port", "1"])
                h.check(unnamed.status == .exited(1) && unnamed.stderr.contains("Missing service name"),
                        "`services register` without a name exits 1 with the agent's message: \(unnamed)")
                let unknown = try Self.run(h, a1, ["services", "deregister", "-id", "nope"])
                h.check(unknown.status == .exited(1) && unknown.stderr.contains("Unknown service ID"),
                        "deregistering an unknown ID exits 1 with the agent's message: \(unknown)")
                let help = try h.fedagent(["catalog", "nodes", "-h"])
                h.check(help.status == .exited(0) && help.stdout.contains("Usage: fedagent catalog nodes"), "`-h`: \(help)")
            }
        }
    }
}
