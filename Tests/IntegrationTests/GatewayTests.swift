// Service traffic through the gateways in isolated datacenters (testing
// ladder, step 4): 2 datacenters x (2 servers + 2 clients), each agent in
// its own network namespace (Support/Namespaces.swift). `backend` runs as
// two small python3 servers inside dc2's client namespaces, registered on
// their agents at their LAN addresses; dc1's clients declare an upstream to
// it (c1 through a registered `frontend`'s Connect upstream, c2 with
// `-upstream backend@dc2:9191`), and reach it only through 127.0.0.1:9191:
// client -> a dc1 server (gateway) -> a dc2 server -> a backend instance.
// Two more servers in dc2 must never be reached: an unregistered decoy, and
// a third `backend` instance whose check is critical.
// Behaviour only: generous deadlines, no timing asserted. Needs root, `ip
// netns`, python3 and curl; skipped (with the reason printed) without root.
//
// The python3 helper (backends and clients) is python/gateway_tool.py.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Service traffic through the gateways in network namespaces",
           .enabled("needs root and Linux network namespaces (`ip netns`); the reason is printed when skipped") {
               NetnsLab.isAvailable
           })
    struct GatewayTraffic {

        @Test("a dc1 client cannot reach dc2's backend directly, yet gets its answer through its upstream port (Connect upstream and -upstream); only registered, not critical instances answer, reached from dc2's servers; a tunnel to a service dc2 does not have, or named by an address, is refused (code 7, connection closed, logged); deregistering the declaring service closes its upstream port")
        func reachAndRefuse() throws {
            let prefix = try GatewayLab.run("gateway-reach") { g in
                let (h, lab) = (g.h, g.lab)
                let (dc1c1, dc1c2, dc2c1, dc2c2, dc2s1) = (g.dc1c1, g.dc1c2, g.dc2c1, g.dc2c2, lab.agent(2, "s1"))

                // No path from dc1's clients to the backends (or dc2's servers); dc2 itself reaches them (control).
                for backend in [dc2c1, dc2c2] {
                    let (control, controlDetail) = try lab.tcpReaches(from: dc2s1, to: backend.lanIP, port: GatewayLab.backendPort)
                    h.check(control, "control: \(dc2s1.label) should reach the backend at \(backend.lanIP):\(GatewayLab.backendPort): \(controlDetail)")
                    for client in [dc1c1, dc1c2] {
                        let (reached, detail) = try lab.tcpReaches(from: client, to: backend.lanIP, port: GatewayLab.backendPort)
                        h.check(!reached, "\(client.label) must not reach dc2's backend \(backend.lanIP):\(GatewayLab.backendPort) directly: \(detail)")
                    }
                }
                let (toServer, toServerDetail) = try lab.tcpReaches(from: dc1c1, to: dc2s1.lanIP, port: 8300)
                h.check(!toServer, "\(dc1c1.label) must not reach dc2's server port directly: \(toServerDetail)")

                // Through the upstream port: curl gets the backend's HTTP answer (setUp waited for the first one).
                let curl = try g.curlUpstream(dc1c1)
                h.check(curl.status == .exited(0) && g.parse(curl.stdout.trimmingSpaces).map { g.registered.contains($0.instance) } == true,
                        "curl http://127.0.0.1:\(GatewayLab.upstreamPort)/ in \(dc1c1.label) should get a backend's answer: \(curl)")

                // Many connections, from both dc1 clients (both upstream forms): every one answered
                // by a registered instance, reached from one of dc2's servers; both instances get some.
                var seen = Set<String>()
                try h.eventually("connections through the upstream ports of \(dc1c1.label) and \(dc1c2.label) reach both registered backend instances") {
                    var detail: [String] = []
                    for client in [dc1c1, dc1c2] {
                        let answers = try g.ask(from: client, count: 20)
                        g.checkAnswers(answers, count: 20, from: client, instances: g.registered)
                        seen.formUnion(answers.compactMap(\.instance))
                        detail.append("  \(client.label): \(GatewayLab.summary(answers))")
                    }
                    return (seen == g.registered, "instances seen so far \(seen.sorted())\n" + detail.joined(separator: "\n"))
                }
                g.checkUnreached("by connections through the upstream ports")

                // Raw tunnel requests on dc2's server port, from inside dc2.
                let refusedBefore = g.refusals(dc2s1)
                let missing = try g.raw(from: dc2c1, to: dc2s1.lanIP, datacenter: "dc2", hops: 1, service: "no-such-service")
                h.check(missing.isRefusal(code: 7) && missing.closed,
                        "a tunnel request for no-such-service should be answered by a failure frame (version 1, kind 19, its id, code 7) and the connection closed: \(missing)")
                let byAddress = "\(dc2c1.lanIP):\(GatewayLab.decoyPort)"
                let addressed = try g.raw(from: dc2c1, to: dc2s1.lanIP, datacenter: "dc2", hops: 1, service: byAddress)
                h.check(addressed.isRefusal(code: 7) && addressed.closed,
                        "a tunnel request whose service is an address (\(byAddress)) should be refused (code 7) and closed: \(addressed)")
                let open = try g.raw(from: dc2c1, to: dc2s1.lanIP, datacenter: "dc2", hops: 1, service: "backend")
                h.check(open.kind == 20 && open.version == 1 && open.idEchoed
                        && open.answer.flatMap(g.parse).map { g.registered.contains($0.instance) && $0.peer == dc2s1.lanIP } == true,
                        "a tunnel request for backend should open (version 1, kind 20, its id) to a registered instance, reached from \(dc2s1.lanIP): \(open)")
                // There is no address field: bytes appended to a request make it
                // malformed, and the server closes the connection without a tunnel.
                let trailed = try g.raw(from: dc2c1, to: dc2s1.lanIP, datacenter: "dc2", hops: 1, service: "backend", trailer: byAddress)
                h.check(trailed.kind == nil && trailed.answer == nil && (trailed.closed || "\(trailed)".contains("closed after 0 of 4 bytes")),
                        "a tunnel request for backend with an address appended is malformed: closed, no tunnel, never that address: \(trailed)")
                g.checkUnreached("by raw tunnel requests")
                // A client's certificate claiming a gateway's second hop: forbidden (code 8).
                let posing = try g.raw(from: dc2c1, to: dc2s1.lanIP, datacenter: "dc1", hops: 2, service: "backend")
                h.check(posing.isRefusal(code: 8) && posing.closed,
                        "a second-hop tunnel request from a client's certificate should be refused with code 8 (forbidden): \(posing)")
                // From a dc1 server, a request that would take a third hop: no path (code 1).
                let dc1s1 = lab.agent(1, "s1")
                let thirdHop = try g.raw(from: dc1s1, to: dc2s1.wanIP ?? "", datacenter: "dc1", hops: 2, service: "backend")
                h.check(thirdHop.isRefusal(code: 1), "a tunnel request for dc1 that already took 2 hops should be refused with code 1 (no path): \(thirdHop)")
                // From a dc1 server over the WAN, as a gateway would ask.
                let overWAN = try g.raw(from: dc1s1, to: dc2s1.wanIP ?? "", datacenter: "dc2", hops: 2, service: "no-such-service")
                h.check(overWAN.isRefusal(code: 7) && overWAN.closed,
                        "a tunnel request over the WAN for no-such-service should be refused (code 7) and closed: \(overWAN)")
                let refusedAfter = g.refusals(dc2s1)
                h.check(refusedAfter.count >= refusedBefore.count + 3
                        && refusedAfter.contains { $0.contains("[WARN]") && $0.contains("refused a tunnel to no-such-service") }
                        && refusedAfter.contains { $0.contains("refused a tunnel to \(byAddress)") },
                        "\(dc2s1.label) should log each refused tunnel at WARN (`refused a tunnel`): before \(refusedBefore.count) lines, after:\n\(refusedAfter.joined(separator: "\n"))")

                // End to end: an upstream to a service dc2 does not have is closed without an answer.
                let register = try lab.http(dc1c1, "/v1/agent/service/register", method: "PUT",
                                            body: GatewayLab.frontendDefinition(name: "lost", destination: "no-such-service", port: GatewayLab.missingPort))
                h.check(register.status == 200, "registering a service with an upstream to no-such-service@dc2 on \(dc1c1.label): \(register)")
                let dc2Servers = lab.agents(in: 2).filter(\.isServer)
                func missingRefusals() -> Int {
                    dc2Servers.map { g.refusals($0).filter { $0.contains("refused a tunnel to no-such-service") }.count }.reduce(0, +)
                }
                let missingBefore = missingRefusals()
                try h.eventually("a connection to \(dc1c1.label)'s upstream for no-such-service@dc2 is closed without an answer, and a dc2 server logs the refusal") {
                    let answers = try g.ask(from: dc1c1, count: 1, port: GatewayLab.missingPort)
                    let logged = missingRefusals() > missingBefore
                    return (answers.count == 1 && !answers[0].ok && answers[0].instance == nil && logged,
                            "answers \(answers); a dc2 server logged the refusal: \(logged)")
                }
                // Deregistering the service that declared an upstream closes its port.
                let deregister = try lab.http(dc1c1, "/v1/agent/service/deregister/lost", method: "PUT")
                h.check(deregister.status == 200, "deregistering lost on \(dc1c1.label): \(deregister)")
                try h.eventually("with lost deregistered, \(dc1c1.label) refuses connections to 127.0.0.1:\(GatewayLab.missingPort)") {
                    let answers = try g.ask(from: dc1c1, count: 1, port: GatewayLab.missingPort)
                    return (answers.count == 1 && answers[0].text.contains("ConnectionRefusedError"), "\(answers)")
                }
                let still = try g.ask(from: dc1c1, count: 5)
                g.checkAnswers(still, count: 5, from: dc1c1, instances: g.registered)
            }
            try expectNothingLeft(prefix)
        }

        @Test("killing the dc1 gateway in use, then the dc2 gateway in use, then a backend instance: new connections go through the other gateways and reach the other healthy instance (never the critical one)")
        func failover() throws {
            let prefix = try GatewayLab.run("gateway-failover") { g in
                let (h, lab, dc1c1) = (g.h, g.lab, g.dc1c1)
                var dead: [LabAgent] = []
                for dc in [1, 2] {
                    // Which of the datacenter's servers carries dc1c1's tunnels: hold 20 open and count
                    // the connections on each server's port 8300.
                    let candidates = lab.agents(in: dc).filter { $0.isServer && $0.process.pid != nil }
                    let probe = try g.many(from: dc1c1, count: 20, watch: candidates)
                    h.check(probe.ok(20, g), "20 connections held open at once through \(dc1c1.label)'s upstream: \(probe)")
                    let inUse = candidates.max { probe.connections(of: $0) < probe.connections(of: $1) } ?? candidates[0]
                    h.note("dc\(dc) gateway in use: \(inUse.label) (port 8300 connections at the peak: "
                           + candidates.map { "\($0.label)=\(probe.connections(of: $0))" }.joined(separator: ", ") + ")")
                    lab.kill(inUse)
                    dead.append(inUse)
                    let others = candidates.filter { $0 !== inUse }.map(\.label)
                    try h.eventually("with \(dead.map(\.label).joined(separator: " and ")) killed, new connections through \(dc1c1.label)'s upstream work again (through \(others.joined(separator: ", ")))") {
                        try h.requireRunning(lab.running.map(\.process))
                        let answers = try g.ask(from: dc1c1, count: 3)
                        return (answers.allSatisfy(\.ok), GatewayLab.summary(answers))
                    }
                    let answers = try g.ask(from: dc1c1, count: 20)
                    g.checkAnswers(answers, count: 20, from: dc1c1, instances: g.registered)
                    h.check(answers.allSatisfy(\.ok), "after \(inUse.label) was killed every new connection should be answered: \(GatewayLab.summary(answers))")
                }
                // The surviving gateways carry everything now.
                let survivors = lab.servers.filter { $0.process.pid != nil }
                let probe = try g.many(from: dc1c1, count: 20, watch: survivors)
                h.check(probe.ok(20, g) && survivors.allSatisfy { probe.connections(of: $0) >= 20 },
                        "with \(dead.map(\.label)) dead, 20 held connections should go through \(survivors.map(\.label)): \(probe)")

                // A backend instance dies: new connections reach the other one.
                let (victim, survivor) = (g.dc2c1, g.dc2c2)
                guard let process = g.backends[victim.label] else { throw h.fail("no backend beside \(victim.label)") }
                let status = lab.stop(process)
                h.check(status == .signaled(SIGKILL), "the backend beside \(victim.label) should die of SIGKILL: \(status.map(\.description) ?? "still running")")
                try h.eventually("with the backend beside \(victim.label) killed, new connections are answered by \(survivor.label)'s instance") {
                    let answers = try g.ask(from: dc1c1, count: 5)
                    return (answers.allSatisfy { $0.ok && $0.instance == survivor.label }, GatewayLab.summary(answers))
                }
                let answers = try g.ask(from: dc1c1, count: 20) + g.ask(from: g.dc1c2, count: 10)
                h.check(answers.count == 30 && answers.allSatisfy { $0.ok && $0.instance == survivor.label },
                        "every new connection should now be answered by \(survivor.label)'s instance: \(GatewayLab.summary(answers))")
                g.checkUnreached("when gateways and an instance died")
            }
            try expectNothingLeft(prefix)
        }

        @Test("100 MiB each way through the tunnel arrive intact (sha256 both ways, half-close carried); 500 connections open at once through one upstream all complete, and the gateways' memory stays under 200 MiB")
        func bulkAndConcurrent() throws {
            let prefix = try GatewayLab.run("gateway-load") { g in
                let (h, lab, dc1c1) = (g.h, g.lab, g.dc1c1)

                // 100 MiB up, half-close, 100 MiB down.
                let mib = 100
                let r = try lab.exec(dc1c1.namespace, g.python, [g.tool, "bulk", "127.0.0.1", "\(GatewayLab.upstreamPort)", "\(mib)"],
                                     timeout: 300)
                let result = GatewayLab.jsonLines(r.stdout).first
                let field = { (name: String) in result?[name]?.stringValue ?? "" }
                let header = field("header").split(separator: " ").map(String.init)
                h.check(r.status == .exited(0) && result?["error"] == nil, "the bulk client should finish without error: \(r)")
                h.check(header.count == 4 && header[0] == "UP" && header[1] == "\(mib << 20)" && header[2] == field("sentSHA256")
                        && g.registered.contains(String(header[3].dropFirst("instance=".count))),
                        "upload: a backend instance should have received exactly the \(mib << 20) bytes sent, same sha256 (sent \(field("sentSHA256"))), after the client's half-close: \(r.stdout)")
                h.check(result?["received"]?.intValue == mib << 20 && !field("receivedSHA256").isEmpty
                        && field("receivedSHA256") == field("expectedSHA256"),
                        "download: the client should receive exactly \(mib << 20) bytes with the sha256 the backend sent (\(field("expectedSHA256"))): \(r.stdout)")

                // 500 at once, each held open until all 500 are, then a request/response on each.
                let watched = lab.servers + [dc1c1]
                let before = watched.map { ($0, GatewayLab.rssKiB($0)) }
                let count = 500
                let many = try g.many(from: dc1c1, count: count, watch: watched)
                let after = watched.map { ($0, GatewayLab.rssKiB($0)) }
                h.check(many.ok(count, g), "\(count) connections through \(dc1c1.label)'s upstream should all be open at once and all complete: \(many)")
                let dc1Gateways = lab.agents(in: 1).filter(\.isServer)
                let inUse = dc1Gateways.filter { many.connections(of: $0) >= count }
                h.note("dc1 gateways at the peak: " + dc1Gateways.map { "\($0.label) \(many.connections(of: $0)) connections" }.joined(separator: ", "))
                h.check(!inUse.isEmpty, "one dc1 server should have carried all \(count) tunnels of \(dc1c1.label) (port 8300 connections at the peak): \(many)")
                let limit = 200 << 10
                for (agent, rss) in before + after {
                    h.check(rss.map { $0 < limit } == true, "\(agent.label)'s VmRSS should stay under 200 MiB: \(rss.map { "\($0) KiB" } ?? "unreadable")")
                }
                for stats in many.peak {
                    h.check(stats.rssKiB.map { $0 < limit } == true, "VmRSS at the peak (\(count) open) should stay under 200 MiB: \(stats)")
                }
                var memory: [String] = []
                for (index, agent) in watched.enumerated() {
                    let peak = many.peak.first { $0.pid == Int(agent.process.pid ?? -1) }?.rssKiB ?? -1
                    memory.append("\(agent.label) \(before[index].1 ?? -1) / \(peak) / \(after[index].1 ?? -1)")
                }
                h.note("VmRSS KiB before / at the peak / after: " + memory.joined(separator: ", "))
                g.checkUnreached("by the bulk transfer and the \(count) connections")
            }
            try expectNothingLeft(prefix)
        }

        private func expectNothingLeft(_ prefix: String) throws {
            let ip = try #require(NetnsLab.findProgram("ip"))
            let left = NetnsLab.namespaces(ip: ip, withPrefix: prefix + "-")
            #expect(left.isEmpty, "after teardown no namespace of \(prefix) may remain: \(left)")
        }
    }
}

// MARK: - The lab

/// A 2 x (2 servers + 2 clients) lab where dc2's `backend` runs beside
/// dc2c1 and dc2c2, and dc1's clients reach it through their upstream
/// port. Two more servers that a tunnel must never reach: an unregistered
/// decoy beside dc2c1 (port 9001), and a third `backend` instance beside
/// dc2c2 (port 9002) registered with a critical check.
private final class GatewayLab {
    static let upstreamPort = 9191
    static let missingPort = 9192
    static let backendPort = 9000
    static let decoyPort = 9001
    static let criticalPort = 9002

    let h: Harness
    let lab: NetnsLab
    let python: String
    let curl: String
    /// The helper script (python/gateway_tool.py).
    let tool: String
    /// Backend instances by the label of the agent they run beside.
    private(set) var backends: [String: LabProcess] = [:]
    private(set) var decoy: LabProcess?
    /// The critical `backend` instance.
    private(set) var critical: LabProcess?

    var dc1c1: LabAgent { lab.agent(1, "c1") }
    var dc1c2: LabAgent { lab.agent(1, "c2") }
    var dc2c1: LabAgent { lab.agent(2, "c1") }
    var dc2c2: LabAgent { lab.agent(2, "c2") }
    /// What a backend instance calls itself: the label of its agent.
    var registered: Set<String> { [dc2c1.label, dc2c2.label] }

    /// Builds the lab and runs `body` once dc1's upstreams answer; tears
    /// everything down. Returns the lab's prefix.
    static func run(_ name: String, _ body: (GatewayLab) throws -> Void) throws -> String {
        try NetnsLab.run(name, datacenters: 2, servers: 2, clients: 2) { h, lab in
            let g = try GatewayLab(h, lab)
            try g.setUp()
            try body(g)
        }
    }

    private init(_ h: Harness, _ lab: NetnsLab) throws {
        self.h = h
        self.lab = lab
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileIO.isExecutable) ?? NetnsLab.findProgram("python3") else {
            throw h.fail("python3 is needed for the gateway tests (backends and clients): `apt-get install python3`")
        }
        guard let curl = NetnsLab.curlPath else {
            throw h.fail("`curl` is not installed (scripts/test.sh installs it; or `apt-get install curl`)")
        }
        self.python = python
        self.curl = curl
        tool = Self.toolPath
    }

    /// The python3 helper (backends and clients), run inside the lab's namespaces.
    static let toolPath: String = {
        let here = String(#filePath)
        let folder = here.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return folder + "/python/gateway_tool.py"
    }()

    static func frontendDefinition(name: String, destination: String, port: Int) -> String {
        #"{"Name":"\#(name)","Port":8080,"Connect":{"SidecarService":{"Proxy":{"Upstreams":[{"DestinationName":"\#(destination)","Datacenter":"dc2","LocalBindAddress":"127.0.0.1","LocalBindPort":\#(port)}]}}}}"#
    }

    private func setUp() throws {
        lab.addArguments(["-upstream", "backend@dc2:\(Self.upstreamPort)"], to: dc1c2)
        try lab.startAgents()
        try lab.waitForLANPools()
        let servers = lab.servers
        try h.eventually("every server lists the \(servers.count) servers alive in the WAN pool") {
            try h.requireRunning(lab.running.map(\.process))
            var allOK = true
            var detail: [String] = []
            for server in servers {
                let seen = (try? lab.members(of: server, wan: true)) ?? []
                let ok = Set(seen.filter { $0.status == MemberView.alive }.map(\.name)) == Set(servers.map(\.wanName))
                allOK = allOK && ok
                detail.append("  \(server.label) \(ok ? "ok" : "NOT YET"): \(seen)")
            }
            return (allOK, detail.joined(separator: "\n"))
        }

        // The backends (and an unregistered decoy) inside dc2's client namespaces.
        for client in [dc2c1, dc2c2] {
            backends[client.label] = try lab.spawn("backend-\(client.label)", in: client.namespace, python,
                                                   [tool, "backend", client.lanIP, "\(Self.backendPort)", client.label])
        }
        let decoy = try lab.spawn("decoy-\(dc2c1.label)", in: dc2c1.namespace, python,
                                  [tool, "backend", dc2c1.lanIP, "\(Self.decoyPort)", "decoy"])
        let critical = try lab.spawn("critical-\(dc2c2.label)", in: dc2c2.namespace, python,
                                     [tool, "backend", dc2c2.lanIP, "\(Self.criticalPort)", "critical"])
        self.decoy = decoy
        self.critical = critical
        let programs = Array(backends.values) + [decoy, critical]
        try h.eventually("the backends, the decoy and the critical instance listen") {
            try lab.requireRunning(programs)
            let waiting = programs.filter { !$0.log.contains("listening on") }
            return (waiting.isEmpty, "not listening yet: \(waiting)")
        }
        for client in [dc2c1, dc2c2] {
            let body = #"{"Name":"backend","Port":\#(Self.backendPort),"Address":"\#(client.lanIP)"}"#
            let r = try lab.http(client, "/v1/agent/service/register", method: "PUT", body: body)
            h.check(r.status == 200, "registering backend on \(client.label): \(r)")
        }
        let sick = #"{"ID":"backend-critical","Name":"backend","Port":\#(Self.criticalPort),"Address":"\#(dc2c2.lanIP)","Check":{"TTL":"10m","Status":"critical"}}"#
        let registerSick = try lab.http(dc2c2, "/v1/agent/service/register", method: "PUT", body: sick)
        h.check(registerSick.status == 200, "registering a critical backend instance on \(dc2c2.label): \(registerSick)")
        let frontend = try lab.http(dc1c1, "/v1/agent/service/register", method: "PUT",
                                    body: Self.frontendDefinition(name: "frontend", destination: "backend", port: Self.upstreamPort))
        h.check(frontend.status == 200, "registering frontend with an upstream to backend@dc2 on \(dc1c1.label): \(frontend)")

        // dc2's servers (the gateways that pick the instance) know the 3 instances, 2 passing.
        let passing = [dc2c1, dc2c2].map { "\($0.lanIP):\(Self.backendPort)" }.sorted()
        let all = (passing + ["\(dc2c2.lanIP):\(Self.criticalPort)"]).sorted()
        try h.eventually("dc2's servers list the 3 backend instances, the 2 on port \(Self.backendPort) passing") {
            try h.requireRunning(lab.running.map(\.process))
            var allOK = true
            var detail: [String] = []
            for server in lab.agents(in: 2).filter(\.isServer) {
                for (query, expected) in [("?passing", passing), ("", all)] {
                    let r = try lab.http(server, "/v1/health/service/backend" + query)
                    let instances = ((try? JSONValue.parse(r.body))?.arrayValue ?? []).map { entry in
                        "\(entry["Service"]?["Address"]?.stringValue ?? "?"):\(entry["Service"]?["Port"]?.intValue ?? -1)"
                    }.sorted()
                    allOK = allOK && instances == expected
                    detail.append("  \(server.label) backend\(query): \(instances) \(r.status.map(String.init) ?? "no response")")
                }
            }
            return (allOK, detail.joined(separator: "\n"))
        }
        for client in [dc1c1, dc1c2] {
            try h.eventually("curl through \(client.label)'s upstream port \(Self.upstreamPort) gets a backend's answer") {
                try h.requireRunning(lab.running.map(\.process))
                try lab.requireRunning(programs)
                let r = try curlUpstream(client)
                return (r.status == .exited(0) && parse(r.stdout.trimmingSpaces).map { registered.contains($0.instance) } == true, "\(r)")
            }
        }
        h.note("---- the gateway lab works; the test's checks from here ----")
    }

    // MARK: - Clients

    func curlUpstream(_ client: LabAgent) throws -> CommandResult {
        try lab.exec(client.namespace, curl, ["-sS", "-m", "10", "http://127.0.0.1:\(Self.upstreamPort)/"])
    }

    /// One backend answer: `instance=dc2c1 peer=10.231.2.1`.
    func parse(_ text: String) -> (instance: String, peer: String)? {
        var fields: [String: String] = [:]
        for word in text.split(separator: " ") {
            let pair = word.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        guard let instance = fields["instance"], let peer = fields["peer"] else { return nil }
        return (instance, peer)
    }

    struct Answer: CustomStringConvertible {
        let ok: Bool
        let instance: String?
        let peer: String?
        let text: String
        var description: String { text }
    }

    /// `count` connections one after another through the client's upstream
    /// port, each a GET / answered by a backend instance.
    func ask(from client: LabAgent, count: Int, port: Int = GatewayLab.upstreamPort) throws -> [Answer] {
        let r = try lab.exec(client.namespace, python, [tool, "ask", "127.0.0.1", "\(port)", "\(count)"], timeout: Double(30 + 12 * count))
        let answers = Self.jsonLines(r.stdout).map { line in
            let text = line["answer"]?.stringValue ?? line["error"]?.stringValue ?? "?"
            let parsed = line["answer"]?.stringValue.flatMap(parse)
            return Answer(ok: line["ok"]?.boolValue == true && parsed != nil, instance: parsed?.instance, peer: parsed?.peer, text: text)
        }
        h.check(r.status == .exited(0), "the ask client in \(client.label) should exit 0: \(r)")
        return answers
    }

    /// Every answer from a listed instance, reached from one of dc2's servers.
    func checkAnswers(_ answers: [Answer], count: Int, from client: LabAgent, instances: Set<String>,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        let gateways = Set(lab.agents(in: 2).filter(\.isServer).map(\.lanIP))
        let bad = answers.filter { !$0.ok || !instances.contains($0.instance ?? "") || !gateways.contains($0.peer ?? "") }
        h.check(answers.count == count && bad.isEmpty,
                "all \(count) connections through \(client.label)'s upstream should be answered by a registered instance \(instances.sorted()) reached from a dc2 server \(gateways.sorted()); got \(answers.count), wrong: \(bad)",
                sourceLocation: sourceLocation)
    }

    /// Neither the unregistered decoy nor the critical instance was ever
    /// connected to.
    func checkUnreached(_ when: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (process, what) in [(decoy, "the unregistered decoy on port \(Self.decoyPort)"), (critical, "the critical backend instance on port \(Self.criticalPort)")] {
            let log = process?.log ?? "?"
            h.check(!log.contains("connection from"), "\(what) must never be reached \(when): \(log.suffix(2000))", sourceLocation: sourceLocation)
        }
    }

    static func summary(_ answers: [Answer]) -> String {
        var counts: [String: Int] = [:]
        for answer in answers { counts[answer.ok ? "\(answer.instance ?? "?") via \(answer.peer ?? "?")" : "FAILED \(answer.text)", default: 0] += 1 }
        return "\(answers.count) answers: " + counts.sorted { $0.key < $1.key }.map { "\($0.value)x \($0.key)" }.joined(separator: "; ")
    }

    struct ProcessStats: CustomStringConvertible {
        let pid: Int
        let rssKiB: Int?
        let fds: Int?
        /// Established TCP connections on local port 8300 in its namespace.
        let rpcEstablished: Int?
        var description: String {
            "pid \(pid): VmRSS \(rssKiB.map { "\($0) KiB" } ?? "?"), \(fds.map(String.init) ?? "?") fds, \(rpcEstablished.map(String.init) ?? "?") port 8300 connections"
        }
    }

    struct Many: CustomStringConvertible {
        let exit: ExitStatus
        let openAtOnce: Int
        let answers: [String]
        let errorCount: Int
        let errors: [String]
        let peak: [ProcessStats]
        let labels: [Int: String]

        func connections(of agent: LabAgent) -> Int {
            peak.first { $0.pid == Int(agent.process.pid ?? -1) }?.rpcEstablished ?? 0
        }

        /// All `count` open at once, all answered by a registered instance
        /// with their own `go-<i>`.
        func ok(_ count: Int, _ g: GatewayLab) -> Bool {
            let got = answers.compactMap { answer -> Int? in
                guard let parsed = g.parse(answer), g.registered.contains(parsed.instance),
                      let go = answer.split(separator: " ").first(where: { $0.hasPrefix("got=go-") }) else { return nil }
                return Int(go.dropFirst("got=go-".count))
            }
            return exit == .exited(0) && openAtOnce == count && errorCount == 0 && got.sorted() == Array(0..<count)
        }

        var description: String {
            var counts: [String: Int] = [:]
            for answer in answers { counts[String(answer.split(separator: " ").first ?? "?"), default: 0] += 1 }
            return "\(exit), \(openAtOnce) open at once, \(answers.count) answered \(counts.sorted { $0.key < $1.key }), "
                + "\(errorCount) errors \(errors.prefix(5)); at the peak: "
                + peak.map { "\(labels[$0.pid] ?? "?") \($0)" }.joined(separator: "; ")
        }
    }

    /// `count` connections through the client's upstream port, all held
    /// open until every one is answered (`HOLD`), then a request/response
    /// on each; the VmRSS, fds and port 8300 connections of `watch`'s
    /// processes are read while all are open.
    func many(from client: LabAgent, count: Int, watch: [LabAgent]) throws -> Many {
        let pids = watch.compactMap(\.process.pid)
        let r = try lab.exec(client.namespace, python,
                             [tool, "many", "127.0.0.1", "\(Self.upstreamPort)", "\(count)", pids.map(String.init).joined(separator: ",")],
                             timeout: 240)
        let line = Self.jsonLines(r.stdout).first
        let peak = (line?["peak"]?.arrayValue ?? []).map { s in
            ProcessStats(pid: s["pid"]?.intValue ?? -1, rssKiB: s["rssKiB"]?.intValue, fds: s["fds"]?.intValue,
                         rpcEstablished: s["rpcEstablished"]?.intValue)
        }
        var labels: [Int: String] = [:]
        for agent in watch { if let pid = agent.process.pid { labels[Int(pid)] = agent.label } }
        let result = Many(exit: r.status, openAtOnce: line?["openAtOnce"]?.intValue ?? -1,
                          answers: (line?["answers"]?.arrayValue ?? []).compactMap(\.stringValue),
                          errorCount: line?["errorCount"]?.intValue ?? (line == nil ? -1 : 0),
                          errors: (line?["errors"]?.arrayValue ?? []).compactMap(\.stringValue), peak: peak, labels: labels)
        if line == nil { h.note("many: no result line: \(r)") }
        return result
    }

    struct Raw: CustomStringConvertible {
        let text: String
        let version: Int?
        let kind: Int?
        let idEchoed: Bool
        let code: Int?
        let closed: Bool
        let answer: String?

        /// A failure frame (version 1, kind 19) echoing the request's id,
        /// with `code` (any code when nil).
        func isRefusal(code expected: Int?) -> Bool {
            version == 1 && kind == 19 && idEchoed && code != nil && (expected == nil || code == expected)
        }

        var description: String { text }
    }

    /// One raw tunnel request frame to `ip`:8300 from inside `from`'s
    /// namespace, and what came back.
    func raw(from: LabAgent, to ip: String, datacenter: String, hops: Int, service: String, trailer: String = "") throws -> Raw {
        var arguments = [tool, "raw", ip, "8300", datacenter, "\(hops)", service] + lab.tlsFiles(from)
        if !trailer.isEmpty { arguments.append(trailer) }
        let r = try lab.exec(from.namespace, python, arguments)
        let line = Self.jsonLines(r.stdout).first
        return Raw(text: "from \(from.label) to \(ip):8300 (dc \(datacenter), hops \(hops), service \(service)\(trailer.isEmpty ? "" : ", trailer \(trailer)")): "
                   + (line.map { "\($0)" } ?? "\(r)"),
                   version: line?["version"]?.intValue, kind: line?["kind"]?.intValue, idEchoed: line?["idEchoed"]?.boolValue == true,
                   code: line?["code"]?.intValue, closed: line?["closed"]?.boolValue == true, answer: line?["answer"]?.stringValue)
    }

    /// The `refused a tunnel` lines of the agent's log.
    func refusals(_ agent: LabAgent) -> [String] {
        FileIO.readText(agent.process.logPath).split(separator: "\n").filter { $0.contains("refused a tunnel") }.map(String.init)
    }

    static func jsonLines(_ text: String) -> [JSONValue] {
        text.split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
    }

    /// VmRSS of the agent's process, from /proc/<pid>/status.
    static func rssKiB(_ agent: LabAgent) -> Int? {
        guard let pid = agent.process.pid else { return nil }
        let line = FileIO.readText("/proc/\(pid)/status").split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } }
    }
}
