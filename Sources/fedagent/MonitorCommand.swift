import Agent
import Glibc
import HTTPAPI

/// `fedagent monitor [-log-level L] [-log-json]`: the agent's log lines as
/// they are written, until interrupted (as `consul monitor`).
enum MonitorCommand {
    static let synopsis = "Streams the logs of a running agent"
    static let specs = AgentClient.flagSpecs + [
        .init("log-level", .string, "Lowest level to show: trace, debug, info, warn, err (default info)."),
        .init("log-json", .bool, "One JSON object per line."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent monitor [options]", synopsis: synopsis) { client, flags in
            var path = "/v1/agent/monitor?loglevel=" + pathEscape(flags.string("log-level") ?? "info")
            if flags.bool("log-json") { path += "&logjson" }
            try client.stream(path) { bytes in
                var out = bytes
                return out.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) } == bytes.count
            }
        }
    }
}

extension AgentClient {
    /// A streamed GET: `onBody` gets the bytes as they come.
    func stream(_ path: String, onBody: ([UInt8]) -> Bool) throws(Failure) {
        do {
            try HTTPClient.stream(host: host, port: port, path: path, headers: token.map { [("X-Consul-Token", $0)] } ?? [],
                                  tls: tls, serverName: serverName, onBody: onBody)
        } catch {
            throw Failure(description: "Error streaming from the agent at \(host):\(port): \(error)")
        }
    }
}
