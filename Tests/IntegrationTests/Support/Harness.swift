// The process harness: finds the fedagent binary, owns a temp dir, starts
// agents and client commands, polls with generous deadlines, and tears
// everything down (also on failure), printing logs only when a check failed.

import Glibc
import Testing

/// Thrown after a failure was already recorded as an Issue; `Harness.run`
/// swallows it so the failure is reported once, at the check's location.
struct HarnessStop: Error {}

/// One agent process the harness manages.
final class TestAgent {
    let name: String
    let ip: String
    let ports: AgentPorts
    let dataDir: String
    let logPath: String
    let retryJoin: [String]
    fileprivate(set) var pid: pid_t?
    fileprivate(set) var starts = 0
    /// When set, `Harness.start` runs this command line (program first)
    /// instead of the binary with `arguments`: the binary wrapped in
    /// `ip netns exec NS`, for instance, which execs in place, so the PID is
    /// still the agent's.
    var command: [String]?

    init(name: String, ip: String, ports: AgentPorts, dataDir: String, logPath: String, retryJoin: [String]) {
        self.name = name
        self.ip = ip
        self.ports = ports
        self.dataDir = dataDir
        self.logPath = logPath
        self.retryJoin = retryJoin
    }

    var httpAddress: String { "\(ip):\(ports.http)" }
    var gossipAddress: String { "\(ip):\(ports.gossip)" }

    var arguments: [String] {
        var arguments = [
            "agent", "-node", name, "-bind", ip, "-client", ip,
            "-serf-lan-port", "\(ports.gossip)", "-http-port", "\(ports.http)", "-dns-port", "\(ports.dns)",
            "-data-dir", dataDir, "-log-level", "debug",
        ]
        for address in retryJoin { arguments += ["-retry-join", address] }
        return arguments
    }
}

final class Harness {
    /// The checkout the tests run from (this file is Tests/IntegrationTests/Support/Harness.swift).
    static let repositoryRoot: String = {
        String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast(4).joined(separator: "/")
    }()

    let name: String
    let binary: String
    let directory: String
    let ports = AgentPorts()
    private(set) var agents: [TestAgent] = []
    private(set) var failed = false
    private var events: [String] = []
    private var commandCount = 0
    private var teardownActions: [() -> Void] = []
    private let started = Clock.now

    /// Runs `body` with a fresh harness and always tears it down.
    static func run(_ name: String, _ body: (Harness) throws -> Void) throws {
        let harness = try Harness(name: name)
        defer { harness.teardown() }
        do {
            try body(harness)
        } catch is HarnessStop {
            harness.failed = true
        } catch {
            harness.failed = true
            throw error
        }
    }

    init(name: String) throws {
        self.name = name
        binary = try Harness.findBinary()
        var template = Array("/tmp/fedagent-it-\(name)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw SpawnError(description: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
    }

    /// FEDAGENT_BIN, else `fedagent` beside the running test bundle (the
    /// xctest binary sits in the same products dir).
    static func findBinary() throws(SpawnError) -> String {
        if let value = getenv("FEDAGENT_BIN") {
            let path = String(cString: value)
            guard FileIO.isExecutable(path) else {
                throw SpawnError(description: "FEDAGENT_BIN=\(path) is not an executable file")
            }
            return path
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let products = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let candidate = products + "/fedagent"
        if !products.isEmpty && FileIO.isExecutable(candidate) { return candidate }
        throw SpawnError(description: """
            fedagent binary not found: looked for \(candidate) (beside the test bundle \(exe)). \
            Run `swift build` first, or set FEDAGENT_BIN=/path/to/fedagent.
            """)
    }

    // MARK: - Agents

    func addAgent(name: String, ip: String, retryJoin: [String]) -> TestAgent {
        let base = "\(directory)/\(name)"
        FileIO.makeDirectory(base)
        let agent = TestAgent(name: name, ip: ip, ports: ports, dataDir: "\(base)/data",
                              logPath: "\(base)/agent.log", retryJoin: retryJoin)
        agents.append(agent)
        return agent
    }

    /// Starts (or restarts) the agent's process; its output is appended to
    /// its log file.
    func start(_ agent: TestAgent) throws {
        guard agent.pid == nil else { throw SpawnError(description: "\(agent.name) is already running") }
        agent.starts += 1
        let commandLine = agent.command ?? [binary] + agent.arguments
        FileIO.append(agent.logPath, "=== start #\(agent.starts): \(commandLine.joined(separator: " "))\n")
        agent.pid = try Spawn.start(commandLine[0], Array(commandLine.dropFirst()), environment: Spawn.environment(),
                                    stdoutPath: agent.logPath, stderrPath: agent.logPath)
        note("started \(agent.name) pid \(agent.pid ?? 0) on \(agent.ip)")
    }

    func signal(_ agent: TestAgent, _ signal: Int32) {
        guard let pid = agent.pid else { return }
        kill(pid, signal)
        note("sent signal \(signal) to \(agent.name) pid \(pid)")
    }

    /// Waits for the agent's process to exit and reaps it; nil on timeout.
    func waitForExit(_ agent: TestAgent, timeout: Double = 30) -> ExitStatus? {
        guard let pid = agent.pid else { return nil }
        guard let status = Spawn.wait(pid, timeout: timeout) else { return nil }
        agent.pid = nil
        note("\(agent.name) exited: \(status)")
        FileIO.append(agent.logPath, "=== \(status)\n")
        return status
    }

    /// Fails at once if a process that should be running has exited.
    func requireRunning(_ running: [TestAgent], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for agent in running {
            guard let pid = agent.pid else {
                throw fail("\(agent.name) is not running", sourceLocation: sourceLocation)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                agent.pid = nil
                throw fail("\(agent.name) exited unexpectedly: \(ExitStatus(waitStatus: status))", sourceLocation: sourceLocation)
            }
        }
    }

    /// The member list `agent` reports over HTTP.
    func members(of agent: TestAgent) throws -> [MemberView] {
        let response = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/members")
        guard response.status == 200 else { throw SpawnError(description: "\(response)") }
        return try MemberView.parseList(response.body)
    }

    // MARK: - Client commands

    /// Runs `fedagent arguments...` to completion (bounded by `timeout`,
    /// then killed and recorded as a failure).
    func fedagent(_ arguments: [String], environment extra: [String] = [], timeout: Double = 30,
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        try run(binary, arguments, label: "fedagent", environment: extra, timeout: timeout, sourceLocation: sourceLocation)
    }

    /// Runs any program to completion (bounded by `timeout`, then killed
    /// and recorded as a failure), its output kept in the run's folder.
    func run(_ executable: String, _ arguments: [String], label: String, environment extra: [String] = [],
             timeout: Double = 30, sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        commandCount += 1
        let base = "\(directory)/cmd\(commandCount)"
        let pid = try Spawn.start(executable, arguments, environment: Spawn.environment(adding: extra),
                                  stdoutPath: base + ".out", stderrPath: base + ".err")
        var status = Spawn.wait(pid, timeout: timeout)
        if status == nil {
            status = Spawn.stop(pid, graceful: false)
            check(false, "`\(label) \(arguments.joined(separator: " "))` still running after \(timeout) s",
                  sourceLocation: sourceLocation)
        }
        let result = CommandResult(status: status ?? .exited(-1), stdout: FileIO.readText(base + ".out"),
                                   stderr: FileIO.readText(base + ".err"))
        let prefix = extra.isEmpty ? "" : extra.joined(separator: " ") + " "
        note("$ \(prefix)\(label) \(arguments.joined(separator: " ")) -> \(result.status), "
             + "\(result.stdout.split(separator: "\n").count) stdout lines, stderr: \(result.stderr.prefix(300))")
        return result
    }

    // MARK: - Checks

    /// Records an issue (and marks the run failed, so logs get printed) if
    /// `condition` is false.
    @discardableResult
    func check(_ condition: Bool, _ message: @autoclosure () -> String,
               sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !condition {
            failed = true
            let text = message()
            note("FAILED: \(text)")
            Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
        }
        return condition
    }

    /// Records an issue; throw the result to stop the test (`throw h.fail(...)`).
    func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) -> HarnessStop {
        check(false, message, sourceLocation: sourceLocation)
        return HarnessStop()
    }

    /// Polls `probe` every 250 ms until it reports success, for at most
    /// `timeout` seconds; on timeout records an issue with the last detail
    /// the probe gave and stops the test. Never asserts how long it took.
    func eventually(_ what: String, timeout: Double = 60, sourceLocation: SourceLocation = #_sourceLocation,
                    _ probe: () throws -> (ok: Bool, detail: String)) throws {
        let start = Clock.now
        var last = ""
        while true {
            let (ok, detail) = try probe()
            last = detail
            if ok {
                note("ok after \(Int((Clock.now - start) * 1000)) ms: \(what)")
                return
            }
            if Clock.now - start > timeout {
                check(false, "timed out after \(Int(timeout)) s waiting until \(what)\nlast seen:\n\(last)",
                      sourceLocation: sourceLocation)
                throw HarnessStop()
            }
            usleep(250_000)
        }
    }

    func note(_ text: String) {
        let elapsed = Double(Int((Clock.now - started) * 1000)) / 1000
        events.append("[\(elapsed)s] \(text)")
    }

    // MARK: - Teardown

    /// Runs `action` at teardown, after every agent has been stopped and
    /// before the report is printed (the last added runs first). Actions
    /// may record failures with `check`.
    func onTeardown(_ action: @escaping () -> Void) {
        teardownActions.append(action)
    }

    /// Stops every agent (SIGTERM, then SIGKILL after a grace period), reaps
    /// them, prints the logs if anything failed, and removes the temp dir
    /// (kept when FEDAGENT_IT_KEEP is set).
    func teardown() {
        let running = agents.filter { $0.pid != nil }
        for agent in running { if let pid = agent.pid { kill(pid, SIGTERM) } }
        let deadline = Clock.now + 10
        for agent in running {
            guard let pid = agent.pid else { continue }
            let status = Spawn.wait(pid, timeout: max(0.1, deadline - Clock.now)) ?? Spawn.stop(pid, graceful: false)
            agent.pid = nil
            FileIO.append(agent.logPath, "=== teardown: \(status)\n")
        }
        let actions = teardownActions
        teardownActions = []
        for action in actions.reversed() { action() }
        if failed { printReport() }
        if getenv("FEDAGENT_IT_KEEP") == nil {
            if let pid = try? Spawn.start("/bin/rm", ["-rf", "--", directory], environment: Spawn.environment(),
                                          stdoutPath: "/dev/null", stderrPath: "/dev/null") {
                _ = Spawn.wait(pid, timeout: 30)
            }
        } else {
            print("[\(name)] kept \(directory)")
        }
    }

    private func printReport() {
        var report = "\n===== \(name): FAILED — harness events =====\n"
        report += events.joined(separator: "\n") + "\n"
        for agent in agents {
            let log = FileIO.readText(agent.logPath)
            let tail = log.utf8.count > 48_000 ? "[...]\n" + String(decoding: log.utf8.suffix(48_000), as: UTF8.self) : log
            report += "\n===== \(name): log of \(agent.name) (\(agent.ip)) =====\n\(tail)"
        }
        print(report)
    }
}
