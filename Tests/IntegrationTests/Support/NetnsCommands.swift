import Glibc
import JSON
import Testing

/// Commands run inside the lab's namespaces.
extension NetnsLab {

    /// Runs `program arguments...` inside `namespace` (`ip netns exec`), to
    /// completion, bounded by `timeout`.
    func exec(_ namespace: String, _ program: String, _ arguments: [String], timeout: Double = 30,
              sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        try h.run(ipPath, ["netns", "exec", namespace, program] + arguments, label: "ip", timeout: timeout,
                  sourceLocation: sourceLocation)
    }

    /// `curl` against the agent's own HTTP API (127.0.0.1:8500 in its
    /// namespace). Never throws for HTTP errors or refused connections:
    /// look at `status`.
    func http(_ agent: LabAgent, _ path: String, method: String = "GET", body: String? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) throws -> CurlResponse {
        guard let curl = Self.curlPath else {
            throw h.fail("`curl` is not installed (scripts/test.sh installs it; or `apt-get install curl`)", sourceLocation: sourceLocation)
        }
        var arguments = ["-sS", "-m", "10", "-w", "\n%{http_code}"]
        if method != "GET" { arguments += ["-X", method] }
        if let body { arguments += ["--data-binary", body] }
        arguments.append("http://127.0.0.1:8500\(path)")
        let r = try exec(agent.namespace, curl, arguments, sourceLocation: sourceLocation)
        var text = r.stdout
        var status: Int?
        if let newline = text.lastIndex(of: "\n") {
            status = Int(text[text.index(after: newline)...]).flatMap { $0 == 0 ? nil : $0 }
            text = String(text[..<newline])
        }
        return CurlResponse(request: "\(agent.label): \(method) \(path)", exit: r.status, status: status, body: text, stderr: r.stderr)
    }

    /// `dig @127.0.0.1 -p 8600 +time=2 +tries=2 name type` inside the
    /// agent's namespace, parsed.
    func dig(_ agent: LabAgent, _ name: String, _ type: String = "A",
             sourceLocation: SourceLocation = #_sourceLocation) throws -> DigAnswer {
        guard let path = Dig.path else { throw h.fail(Dig.missing, sourceLocation: sourceLocation) }
        let arguments = ["@127.0.0.1", "-p", "8600", "+time=2", "+tries=2", name, type]
        let r = try exec(agent.namespace, path, arguments, sourceLocation: sourceLocation)
        return Dig.parse(r.stdout, arguments: ["(in \(agent.label))"] + arguments, exit: r.status)
    }

    /// The fedagent CLI inside the agent's namespace, pointed at its agent.
    func fedagent(_ agent: LabAgent, _ arguments: [String],
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        try exec(agent.namespace, h.binary, arguments + ["-http-addr", "127.0.0.1:8500"], sourceLocation: sourceLocation)
    }

    /// GET /v1/agent/members (`?wan=1` with `wan`) of the agent, parsed.
    func members(of agent: LabAgent, wan: Bool = false) throws -> [MemberView] {
        let r = try http(agent, "/v1/agent/members" + (wan ? "?wan=1" : ""))
        guard r.status == 200 else { throw SpawnError(description: "\(r)") }
        return try MemberView.parseList(Array(r.body.utf8))
    }

    /// Whether a TCP connection attempt from the agent's namespace to
    /// `ip:port` reaches that host within 5 s (bash's /dev/tcp): connected,
    /// or refused by it; not unreachable, not timed out. With what happened.
    func tcpReaches(from agent: LabAgent, to ip: String, port: Int,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> (Bool, String) {
        guard let timeout = Self.findProgram("timeout"), let bash = Self.findProgram("bash") else {
            throw h.fail("coreutils' `timeout` and `bash` are needed", sourceLocation: sourceLocation)
        }
        let r = try exec(agent.namespace, timeout, ["5", bash, "-c", "exec 3<>/dev/tcp/\(ip)/\(port)"],
                         sourceLocation: sourceLocation)
        let refused = r.stderr.contains("Connection refused")
        let what = r.status == .exited(0) ? "connected" : r.status == .exited(124) ? "timed out after 5 s"
            : "\(r.status) \(r.stderr.split(separator: "\n").last.map(String.init) ?? "")"
        return (r.status == .exited(0) || refused, "\(agent.label) -> \(ip):\(port) TCP: \(what)")
    }

    /// Takes the WAN bridge down (no frame crosses between servers of
    /// different datacenters; their links stay up) or back up.
    func setWAN(up: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try ip(["-n", switchNamespace, "link", "set", "dev", Self.wanBridge, up ? "up" : "down"], sourceLocation: sourceLocation)
    }

    /// Runs `ip arguments...`; records a failure and stops if it fails.
    @discardableResult
    func ip(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let r = try h.run(ipPath, arguments, label: "ip", timeout: 30, sourceLocation: sourceLocation)
        guard r.status == .exited(0) else {
            throw h.fail("`ip \(arguments.joined(separator: " "))` failed: \(r)", sourceLocation: sourceLocation)
        }
        return r
    }
}
