// Isolated datacenters in Linux network namespaces (testing ladder, step 4),
// on top of the process harness (spawning, logs, checks, teardown report).
// Needs root and iproute2; tests that use it are skipped otherwise (see
// `NetnsLab.unavailableReason`).
//
// Topology of a lab with D datacenters of S servers and C clients, for the
// run's prefix P = fedit<test process pid>r<random tag>:
//
//   P-sw           the "switch": bridges br-dc1...br-dcD (one LAN per
//                  datacenter) and br-wan, and the switch-side veth ends
//                  dc<d><node>-lan (in br-dc<d>) and dc<d>s<i>-wan (in br-wan)
//   P-dc<d><node>  one per agent, node s1...sS, c1...cC: lo up;
//                  lan0 = A.B.<d>.<n>/24, n = i for s<i> and 10 + i for c<i>;
//                  servers only: wan0 = A.B.100.<10d + i>/24
//
// A.B is 10.231 unless the host already uses part of 10.231.0.0/16 (then
// the first free of 10.232, 10.233, 172.30, 172.29). The root namespace gets
// no interface, address or route: veths are created inside the switch
// namespace with their peer sent straight into the agent's namespace, and
// `build` checks that the root's interfaces and addresses did not change.
// Interface names need only be unique within a namespace, and every
// namespace is the run's own, so they never collide with a crashed run's
// leftovers; a new lab deletes the namespaces of runs whose test process is
// gone.
//
// Agents run as `ip netns exec P-dc<d><node> fedagent agent ...`. iproute2's
// `ip netns exec` (without -all) enters the namespace and execvp()s the
// command in place, as setpriv does, so the PID the harness spawned is the
// agent's own: `startAgents` checks that /proc/<pid>/exe is the fedagent
// binary and /proc/<pid>/ns/net the agent's namespace before going on, and
// every agent is ended by that PID. Each agent's HTTP and DNS listen on
// 127.0.0.1:8500 and :8600 of its own namespace (each has its own loopback);
// tests reach them with commands run inside it (curl, dig, the fedagent CLI).
//
// Teardown (also on failure): the harness stops every agent by PID, then the
// lab kills whatever is still inside its namespaces (by PID, from
// `ip netns pids`), deletes every namespace it created (which deletes their
// veths and bridges) and records a failure if any namespace with its prefix
// remains.

import Glibc
import JSON
import Testing

final class NetnsLab {
    /// Every namespace a lab creates starts with this, then the test
    /// process's PID (how stale ones are recognised).
    static let namePrefix = "fedit"
    static let wanBridge = "br-wan"
    /// The gossip key of every lab agent (LAN and WAN pools).
    static let gossipKey = "5QhQiaKPC6OZi3Kq9Nya8vQZeXNZlYXVGflf1OgkAbM="
    static let managementToken = "9d3c1f4e-2b7a-4e8d-a6c5-1f0e2d3c4b5a"
    static func lanBridge(_ datacenter: Int) -> String { "br-dc\(datacenter)" }
    /// The blocks (first two octets) a lab may use, in order of preference.
    static let candidateBlocks: [(Int, Int)] = [(10, 231), (10, 232), (10, 233), (172, 30), (172, 29)]

    let h: Harness
    /// fedit<pid>r<tag>; every namespace of this lab is `<prefix>-<role>`.
    let prefix: String
    let switchNamespace: String
    /// The first two octets of every address: "10.231".
    let block: String
    let ipPath: String
    private(set) var agents: [LabAgent] = []
    /// Namespaces created so far, in order.
    private var created: [String] = []

    // MARK: - Availability

    /// Why namespaced tests cannot run here, or nil if they can: root,
    /// iproute2 and a working `ip netns add` are needed.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "not running as root (euid \(geteuid()))" }
        guard let ip = findProgram("ip") else { return "iproute2's `ip` is not installed" }
        let probe = "\(namePrefix)\(getpid())probe"
        let added = capture(ip, ["netns", "add", probe])
        guard added.status == .exited(0) else {
            return "`ip netns add \(probe)` failed (\(added.status)): \(added.stderr.trimmingSpaces)"
        }
        _ = capture(ip, ["netns", "delete", probe])
        return nil
    }()

    /// For `.enabled`: prints (once) why the tests are skipped when they are.
    static let isAvailable: Bool = {
        if let reason = unavailableReason {
            print("[netns] SKIPPING the isolated-datacenter tests: they need root and Linux network namespaces: \(reason)")
            return false
        }
        return true
    }()

    // MARK: - Building

    /// Runs `body` with a harness and a built lab of `datacenters` x
    /// (`servers` + `clients`) agents (not started yet); always tears both
    /// down. Returns the lab's prefix, so the caller can check afterwards
    /// that nothing with it is left.
    @discardableResult
    static func run(_ name: String, datacenters: Int, servers: Int, clients: Int,
                    _ body: (Harness, NetnsLab) throws -> Void) throws -> String {
        var prefix = ""
        try Harness.run(name) { h in
            let lab = try NetnsLab(h, datacenters: datacenters, servers: servers, clients: clients)
            prefix = lab.prefix
            try lab.build()
            try body(h, lab)
        }
        return prefix
    }

    /// Plans the lab (names, addresses, the agents' command lines) and
    /// registers its teardown; creates nothing yet.
    init(_ h: Harness, datacenters: Int, servers: Int, clients: Int) throws {
        precondition((1...24).contains(datacenters) && (1...9).contains(servers) && (0...9).contains(clients))
        self.h = h
        guard let ip = Self.findProgram("ip") else { throw h.fail("iproute2's `ip` is not installed") }
        ipPath = ip
        prefix = "\(Self.namePrefix)\(getpid())r\(String(UInt32.random(in: 0...UInt32.max) % 46_656, radix: 36))"
        switchNamespace = "\(prefix)-sw"
        Self.removeStale(ip: ip, note: h.note)
        block = try Self.pickBlock(ip: ip, harness: h)
        h.note("lab \(prefix): addresses in \(block).0.0/16")
        h.onTeardown { [self] in teardown() }

        for d in 1...datacenters {
            let nodes = (1...servers).map { ("s\($0)", true, $0) } + (0..<clients).map { ("c\($0 + 1)", false, 11 + $0) }
            for (node, isServer, host) in nodes {
                let label = "dc\(d)\(node)"
                let lanIP = "\(block).\(d).\(host)"
                let wanIP = isServer ? "\(block).100.\(10 * d + host)" : nil
                let seed = "\(block).\(d).1"
                let process = h.addAgent(name: label, ip: lanIP, retryJoin: [seed])
                agents.append(LabAgent(datacenter: d, node: node, isServer: isServer, namespace: "\(prefix)-\(label)",
                                       lanIP: lanIP, wanIP: wanIP, process: process))
            }
        }
        let wanSeed = agents.first { $0.isServer }?.wanIP ?? ""
        // Gossip is encrypted, LAN and WAN, with the key in a config file
        // (as a Kubernetes Secret mounts it).
        let gossipConfig = h.directory + "/gossip.json"
        FileIO.append(gossipConfig, #"{"encrypt": "\#(Self.gossipKey)"}"#)
        // ACLs are on with default deny; every agent's default token is the
        // management token, so the lab's own calls need none (the ACL rules
        // themselves are tested in ACLTests).
        let aclConfig = h.directory + "/acl.json"
        FileIO.append(aclConfig, #"{"acl": {"enabled": true, "default_policy": "deny", "tokens": {"initial_management": "\#(Self.managementToken)", "default": "\#(Self.managementToken)"}}}"#)
        // And the server port is mutual TLS with hostname verification:
        // servers prove server.<dc>.consul, clients client.<dc>.consul.
        let pki = try TestPKI(directory: h.directory + "/tls")
        for agent in agents {
            let (cert, key) = try pki.issue(server: agent.isServer, dc: agent.dc, name: agent.label)
            let tlsConfig = pki.configFile(name: agent.label, cert: cert, key: key)
            var command = [ipPath, "netns", "exec", agent.namespace, h.binary, "agent",
                           "-node", agent.node, "-datacenter", agent.dc,
                           "-bind", "0.0.0.0", "-advertise", agent.lanIP, "-client", "127.0.0.1",
                           "-data-dir", agent.process.dataDir, "-log-level", "debug", "-config-file", gossipConfig,
                           "-config-file", tlsConfig, "-config-file", aclConfig]
            command += agent.process.retryJoin.flatMap { ["-retry-join", $0] }
            if let wanIP = agent.wanIP {
                command += ["-server", "-advertise-wan", wanIP, "-retry-join-wan", wanSeed]
            }
            agent.process.command = command
        }
    }

    /// Creates the namespaces, bridges, veths and addresses; checks that the
    /// root namespace's interfaces and addresses did not change.
    func build() throws {
        let rootBefore = rootState()
        try addNamespace(switchNamespace)
        let datacenters = Set(agents.map(\.datacenter)).sorted()
        for bridge in datacenters.map(Self.lanBridge) + [Self.wanBridge] {
            try ip(["-n", switchNamespace, "link", "add", "name", bridge, "type", "bridge"])
            try ip(["-n", switchNamespace, "link", "set", "dev", bridge, "up"])
        }
        for agent in agents {
            try addNamespace(agent.namespace)
            try ip(["-n", agent.namespace, "link", "set", "dev", "lo", "up"])
            try link(agent, "lan0", switchEnd: "\(agent.label)-lan", bridge: Self.lanBridge(agent.datacenter), address: agent.lanIP)
            if let wanIP = agent.wanIP {
                try link(agent, "wan0", switchEnd: "\(agent.label)-wan", bridge: Self.wanBridge, address: wanIP)
            }
        }
        let rootAfter = rootState()
        guard h.check(rootAfter == rootBefore, "the root namespace changed while building the lab:\nbefore:\n\(rootBefore)\nafter:\n\(rootAfter)") else {
            throw HarnessStop()
        }
        h.note("lab \(prefix) built: \(created.count) namespaces; root namespace unchanged\n  "
               + agents.map(\.description).joined(separator: "\n  "))
    }

    private func addNamespace(_ name: String) throws {
        try ip(["netns", "add", name])
        created.append(name)
    }

    /// A veth from the agent's namespace (`name`, with `address`/24) to the
    /// switch (`switchEnd`, a port of `bridge`), both ends up.
    private func link(_ agent: LabAgent, _ name: String, switchEnd: String, bridge: String, address: String) throws {
        try ip(["-n", switchNamespace, "link", "add", "name", switchEnd, "type", "veth", "peer", "name", name, "netns", agent.namespace])
        try ip(["-n", switchNamespace, "link", "set", "dev", switchEnd, "master", bridge, "up"])
        try ip(["-n", agent.namespace, "addr", "add", "\(address)/24", "dev", name])
        try ip(["-n", agent.namespace, "link", "set", "dev", name, "up"])
    }

    /// The root namespace's interface names and addresses, one a line.
    private func rootState() -> String {
        let links = Self.capture(ipPath, ["-o", "link"]).stdout.split(separator: "\n").compactMap { line in
            line.split(separator: " ").dropFirst().first.map { "link \($0)" }
        }
        let addresses = Self.capture(ipPath, ["-o", "addr"]).stdout.split(separator: "\n").map { line in
            "addr " + line.split(separator: " ").dropFirst().prefix(3).joined(separator: " ")
        }
        return (links + addresses).sorted().joined(separator: "\n")
    }

    // MARK: - Agents

    var servers: [LabAgent] { agents.filter(\.isServer) }
    var clients: [LabAgent] { agents.filter { !$0.isServer } }
    var running: [LabAgent] { agents.filter { $0.process.pid != nil } }

    /// The CA, certificate and key files `agent` runs with (TestPKI's names).
    func tlsFiles(_ agent: LabAgent) -> [String] {
        let directory = h.directory + "/tls"
        return [directory + "/consul-agent-ca.pem", "\(directory)/\(agent.label).pem", "\(directory)/\(agent.label)-key.pem"]
    }

    func agents(in datacenter: Int) -> [LabAgent] { agents.filter { $0.datacenter == datacenter } }

    /// The agent `node` (s1, c2...) of datacenter `datacenter`.
    func agent(_ datacenter: Int, _ node: String) -> LabAgent {
        guard let agent = agents.first(where: { $0.datacenter == datacenter && $0.node == node }) else {
            preconditionFailure("no agent \(node) in dc\(datacenter)")
        }
        return agent
    }

    /// Starts the agents, then waits until each spawned PID is the fedagent
    /// binary itself running inside its own namespace (`ip netns exec`
    /// execs in place).
    func startAgents(_ list: [LabAgent]? = nil) throws {
        let list = list ?? agents
        for agent in list { try h.start(agent.process) }
        let binary = Self.realPath(h.binary)
        try h.eventually("each agent's PID is the fedagent binary inside its own namespace", timeout: 30) {
            try h.requireRunning(list.map(\.process))
            var detail: [String] = []
            for agent in list {
                let pid = agent.process.pid ?? 0
                let exe = Self.readLink("/proc/\(pid)/exe") ?? "?"
                let processNet = Self.fileID("/proc/\(pid)/ns/net")
                let namespaceNet = Self.fileID("/var/run/netns/\(agent.namespace)")
                if exe != binary || processNet == nil || processNet != namespaceNet {
                    detail.append("  \(agent.label) pid \(pid): exe \(exe), net ns \(String(describing: processNet)), "
                                  + "\(agent.namespace) is \(String(describing: namespaceNet))")
                }
            }
            return (detail.isEmpty, detail.joined(separator: "\n"))
        }
    }

    /// SIGKILL by PID, and reap.
    func kill(_ agent: LabAgent, sourceLocation: SourceLocation = #_sourceLocation) {
        h.signal(agent.process, SIGKILL)
        let status = h.waitForExit(agent.process, timeout: 30)
        h.check(status == .signaled(SIGKILL), "\(agent.label) should die of SIGKILL, got \(status.map(\.description) ?? "still running")",
                sourceLocation: sourceLocation)
    }

    /// Every running agent lists exactly the agents of its own datacenter
    /// (at their LAN addresses) alive: one LAN pool per datacenter.
    func waitForLANPools(timeout: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let observers = running
        let sizes = Set(agents.map { agents(in: $0.datacenter).count }).sorted()
        try h.eventually("every agent lists exactly its datacenter's \(sizes.map(String.init).joined(separator: "/")) agents alive (one LAN pool per datacenter)",
                         timeout: timeout, sourceLocation: sourceLocation) {
            try h.requireRunning(observers.map(\.process), sourceLocation: sourceLocation)
            var allOK = true
            var detail: [String] = []
            for observer in observers {
                let expected = agents(in: observer.datacenter).map { "\($0.node)@\($0.lanIP)=alive" }.sorted()
                do {
                    let seen = try members(of: observer).map { "\($0.name)@\($0.addr)=\(MemberView.statusWord($0.status))" }.sorted()
                    let ok = seen == expected
                    allOK = allOK && ok
                    detail.append("  \(observer.label) \(ok ? "ok" : "NOT YET"): \(seen)")
                } catch {
                    allOK = false
                    detail.append("  \(observer.label) ERROR: \(error)")
                }
            }
            return (allOK, detail.joined(separator: "\n"))
        }
    }

    /// Appends flags to the agent's command line (`-upstream ...`, say);
    /// call before the agent starts.
    func addArguments(_ arguments: [String], to agent: LabAgent) {
        precondition(agent.process.pid == nil, "\(agent.label) is already running")
        agent.process.command = (agent.process.command ?? []) + arguments
    }

    // MARK: - Other long-running programs inside a namespace

    /// Starts `program arguments...` inside `namespace` (`ip netns exec`,
    /// which execs in place, so the PID is the program's), its output
    /// appended to its own log in the harness's folder. It is killed by PID
    /// and reaped at teardown (before the namespaces go) if still running;
    /// its log goes into the report when the run failed.
    func spawn(_ label: String, in namespace: String, _ program: String, _ arguments: [String]) throws -> LabProcess {
        let process = LabProcess(label: label, namespace: namespace, logPath: "\(h.directory)/\(label).log")
        process.pid = try Spawn.start(ipPath, ["netns", "exec", namespace, program] + arguments, environment: Spawn.environment(),
                                      stdoutPath: process.logPath, stderrPath: process.logPath)
        h.note("started \(label) pid \(process.pid ?? 0) in \(namespace): \(program) \(arguments.joined(separator: " "))")
        h.onTeardown { [h] in
            if process.pid != nil {
                let status = self.stop(process)
                h.note("teardown: stopped \(label): \(status.map(\.description) ?? "not reaped")")
            }
            if h.failed {
                let log = process.log
                h.note("log of \(label):\n" + (log.utf8.count > 8000 ? "[...]\n" + String(decoding: log.utf8.suffix(8000), as: UTF8.self) : log))
            }
        }
        return process
    }

    /// Fails at once if one of `processes` has exited (and reaps it).
    func requireRunning(_ processes: [LabProcess], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for process in processes {
            guard let pid = process.pid else { throw h.fail("\(process.label) is not running", sourceLocation: sourceLocation) }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                process.pid = nil
                throw h.fail("\(process.label) exited unexpectedly: \(ExitStatus(waitStatus: status))\n\(process.log.suffix(3000))",
                             sourceLocation: sourceLocation)
            }
        }
    }

    /// SIGKILL (or `signal`) by PID, and reap; the exit status, nil if it
    /// did not end within 30 s.
    @discardableResult
    func stop(_ process: LabProcess, signal: Int32 = SIGKILL) -> ExitStatus? {
        guard let pid = process.pid else { return nil }
        Glibc.kill(pid, signal)
        let status = Spawn.wait(pid, timeout: 30)
        if status != nil { process.pid = nil }
        h.note("sent signal \(signal) to \(process.label) pid \(pid): \(status.map(\.description) ?? "still running")")
        return status
    }

    // MARK: - Teardown

    /// Runs after the harness has stopped every agent: kills anything still
    /// inside the lab's namespaces (by PID), deletes them, and fails if any
    /// namespace with the lab's prefix remains.
    private func teardown() {
        for namespace in created.reversed() {
            for pid in Self.namespacePIDs(ipPath, namespace) {
                Glibc.kill(pid, SIGKILL)
                h.note("teardown: killed pid \(pid), still inside \(namespace)")
            }
            let r = Self.capture(ipPath, ["netns", "delete", namespace])
            if r.status != .exited(0) { h.note("teardown: `ip netns delete \(namespace)`: \(r)") }
        }
        let left = Self.namespaces(ip: ipPath, withPrefix: prefix + "-")
        h.check(left.isEmpty, "teardown left namespaces of \(prefix) behind: \(left)")
        h.note("teardown: deleted the \(created.count) namespaces of \(prefix); none left")
        created = []
    }

    /// Deletes the namespaces of earlier labs whose test process is gone
    /// (a crashed run), after killing what still runs inside them.
    static func removeStale(ip: String, note: (String) -> Void) {
        for namespace in namespaces(ip: ip, withPrefix: namePrefix) {
            let digits = namespace.dropFirst(namePrefix.count).prefix { $0.isNumber }
            guard let owner = pid_t(digits), owner != getpid() else { continue }
            if Glibc.kill(owner, 0) == 0 || errno != ESRCH { continue }  // that run is still going
            for pid in namespacePIDs(ip, namespace) { Glibc.kill(pid, SIGKILL) }
            let r = capture(ip, ["netns", "delete", namespace])
            note("removed stale namespace \(namespace) (its test process \(owner) is gone): \(r.status)")
        }
    }

    /// Names from `ip netns list` that start with `prefix`.
    static func namespaces(ip: String, withPrefix prefix: String) -> [String] {
        capture(ip, ["netns", "list"]).stdout.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix(prefix) }
    }

    static func namespacePIDs(_ ip: String, _ namespace: String) -> [pid_t] {
        capture(ip, ["netns", "pids", namespace]).stdout.split(separator: "\n").compactMap { pid_t(String($0).trimmingSpaces) }
    }

}
