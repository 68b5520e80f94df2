import Agent
import Glibc
import JSON

/// `fedagent probe -live|-ready`: Kubernetes probes for an image without a
/// shell (an exec probe runs the agent's own binary). Live: the local
/// agent answers HTTP. Ready: `/v1/status/ready` (serving, joined, a live
/// server known). Exit 0 or 1, the reason on stderr; no token needed.
enum ProbeCommand {
    static let synopsis = "Answers Kubernetes' liveness or readiness probe for the local agent"
    static let specs = AgentClient.flagSpecs + [
        .init("live", .bool, "The agent answers HTTP (liveness)."),
        .init("ready", .bool, "The agent has joined its pool and knows a live server (readiness)."),
        .init("timeout", .string, "Seconds to wait for the agent (default 2)."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent probe -live|-ready [options]", synopsis: synopsis) { client, flags in
            guard flags.bool("live") != flags.bool("ready") else {
                throw AgentClient.Failure(description: "say -live or -ready")
            }
            let timeout = try flags.string("timeout").map { text throws(AgentClient.Failure) -> Int in
                guard let n = Int(text), (1...60).contains(n) else { throw AgentClient.Failure(description: "invalid -timeout \(text)") }
                return n
            } ?? 2
            if flags.bool("live") {
                _ = try client.call("GET", "/v1/status/peers", timeout: timeout)
                return
            }
            let answer: [UInt8]
            do {
                answer = try client.call("GET", "/v1/status/ready", timeout: timeout)
            } catch {
                throw AgentClient.Failure(description: "not ready: \(error)")
            }
            guard (try? JSONValue.parse(answer))?["Ready"]?.boolValue == true else {
                throw AgentClient.Failure(description: "not ready: \(String(decoding: answer, as: UTF8.self))")
            }
        }
    }
}
