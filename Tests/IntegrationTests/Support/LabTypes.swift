import Glibc
import JSON
import Testing

/// One agent of a `NetnsLab`, alone in its network namespace.
final class LabAgent: CustomStringConvertible {
    let datacenter: Int
    /// The -node name: s1, s2... for servers, c1, c2... for clients;
    /// unique within the datacenter only.
    let node: String
    let isServer: Bool
    let namespace: String
    let lanIP: String
    /// The address on the WAN bridge; servers only.
    let wanIP: String?
    /// The harness's handle on the process (its PID, log and data dir).
    let process: TestAgent

    init(datacenter: Int, node: String, isServer: Bool, namespace: String, lanIP: String, wanIP: String?, process: TestAgent) {
        self.datacenter = datacenter
        self.node = node
        self.isServer = isServer
        self.namespace = namespace
        self.lanIP = lanIP
        self.wanIP = wanIP
        self.process = process
    }

    /// dc1, dc2...
    var dc: String { "dc\(datacenter)" }
    /// dc2c1: the suffix of its namespace, its name in the harness's report.
    var label: String { dc + node }
    /// Its name in the WAN pool: s1.dc2.
    var wanName: String { "\(node).\(dc)" }

    var description: String {
        "\(label) [\(namespace) lan0 \(lanIP)\(wanIP.map { ", wan0 \($0)" } ?? "")]"
    }
}

/// What `curl` run inside an agent's namespace got.
struct CurlResponse: CustomStringConvertible {
    let request: String
    let exit: ExitStatus
    /// The HTTP status; nil when curl got no response at all.
    let status: Int?
    let body: String
    let stderr: String

    var description: String {
        "\(request) -> \(status.map { "HTTP \($0)" } ?? "no response") (curl \(exit))"
            + (stderr.isEmpty ? "" : " \(stderr.trimmingSpaces)") + ": \(body.prefix(3000))"
    }
}

/// A program other than an agent running inside a lab namespace (a test
/// backend, say); see `NetnsLab.spawn`.
final class LabProcess: CustomStringConvertible {
    let label: String
    let namespace: String
    let logPath: String
    var pid: pid_t?

    init(label: String, namespace: String, logPath: String) {
        self.label = label
        self.namespace = namespace
        self.logPath = logPath
    }

    /// Its output so far.
    var log: String { FileIO.readText(logPath) }

    var description: String { "\(label) [pid \(pid.map(String.init) ?? "ended") in \(namespace)]" }
}
