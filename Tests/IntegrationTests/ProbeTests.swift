// `fedagent probe`, the exec probes of a shell-less image: live as soon as
// the agent answers HTTP; ready only once it has joined its pool (when told
// to join one) and knows a live server; not live once it has gone.

import Glibc
import Testing

extension Integration {
    @Suite("Kubernetes probes")
    struct Probes {
        @Test("a client told to join is live but not ready (saying why) until its server is up; then ready; a server alone is ready; a stopped agent is not live")
        func readiness() throws {
            try Harness.run("probes") { h in
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [129, 139, 149], ports: h.ports)
                let server = h.addAgent(name: "pr-s1", ip: ips[0], retryJoin: [])
                server.command = [h.binary] + server.arguments + ["-server"]
                let client = h.addAgent(name: "pr-c1", ip: ips[1], retryJoin: [server.gossipAddress])
                try h.start(client)
                func probe(_ agent: TestAgent, _ kind: String) throws -> CommandResult {
                    try h.fedagent(["probe", "-" + kind, "-http-addr", agent.httpAddress])
                }
                try h.eventually("the client is live") { (try probe(client, "live").status == .exited(0), "") }
                let notReady = try probe(client, "ready")
                h.check(notReady.status == .exited(1) && notReady.stderr.contains("not joined"), "ready before joining: \(notReady)")
                let status = try HTTPClient.get(client.ip, client.ports.http, "/v1/status/ready")
                h.check(status.status == 503 && status.text.contains("\"Ready\":false"), "/v1/status/ready: \(status.status) \(status.text)")
                try h.start(server)
                try h.eventually("the server alone is ready") { (try probe(server, "ready").status == .exited(0), "") }
                try h.eventually("the client is ready once it has joined") {
                    let r = try probe(client, "ready")
                    return (r.status == .exited(0), r.stderr)
                }
                h.signal(client, SIGTERM)
                _ = h.waitForExit(client)
                let gone = try probe(client, "live")
                h.check(gone.status == .exited(1), "a stopped agent answered the liveness probe: \(gone)")
                let bad = try h.fedagent(["probe", "-http-addr", server.httpAddress])
                h.check(bad.status == .exited(1) && bad.stderr.contains("-live or -ready"), "probe without a kind: \(bad)")
            }
        }
    }
}
