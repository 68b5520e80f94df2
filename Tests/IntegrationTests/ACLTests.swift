// ACLs on three real agents (a server and two clients, default deny),
// driven by an unmodified Consul client library (py-consul): bootstrap once,
// an anonymous read hides everything, a token with `service_prefix "web"
// read` sees web only, a write without service:write is a 403 with Consul's
// text (py-consul's ACLPermissionDenied), tokens and their removal reach
// the other agents by gossip. The Python side is python/consul_acl_check.py.

import JSON
import Testing

extension Integration {
    @Suite("ACL tokens")
    struct ACLs {
        static let script: String = {
            let here = String(#filePath)
            let folder = here.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            return folder + "/python/consul_acl_check.py"
        }()

        @Test("default deny on 3 agents: anonymous reads see nothing, a web-read token sees web only, a write without service:write is a 403 py-consul maps to ACLPermissionDenied; tokens and their deletion reach every agent")
        func threeAgents() throws {
            try Harness.run("acl") { h in
                let probe = try h.run("/usr/bin/env", ["python3", "-c", "import consul"], label: "python3")
                guard probe.status == .exited(0) else {
                    h.check(false, "py-consul is not installed: run scripts/test.sh, which installs it (\(probe.stderr))")
                    return
                }
                let ips = try LoopbackBlock.pick(count: 3, thirdOctets: [128, 138, 148], ports: h.ports)
                let server = h.addAgent(name: "acl-s1", ip: ips[0], retryJoin: [])
                let config = h.directory + "/acl.json"
                let root = "6a1c3f0e-8d2b-4c5a-9e7f-0b1d2c3e4f5a"
                FileIO.append(config, #"{"acl": {"enabled": true, "default_policy": "deny", "tokens": {"initial_management": "\#(root)"}}}"#)
                server.command = [h.binary] + server.arguments + ["-server", "-config-file", config]
                let clients = (1...2).map { i in h.addAgent(name: "acl-c\(i)", ip: ips[i], retryJoin: [server.gossipAddress]) }
                for c in clients { c.command = [h.binary] + c.arguments + ["-config-file", config] }
                for agent in [server] + clients { try h.start(agent) }
                try h.eventually("the three agents form a pool") {
                    let response = try? HTTPClient.get(clients[1].ip, clients[1].ports.http, "/v1/agent/members?token=\(root)")
                    let alive = response.flatMap { try? MemberView.parseList($0.body) }?.filter { $0.status == MemberView.alive }.count ?? 0
                    return (alive == 3, "\(alive) alive")
                }
                let result = try h.run("/usr/bin/env", ["python3", Self.script, server.ip, String(server.ports.http),
                                                        clients[0].ip, String(clients[0].ports.http), clients[1].ip, String(clients[1].ports.http)],
                                       label: "python3 consul_acl_check.py", timeout: 300)
                h.check(result.status == .exited(0), "py-consul ACL checks failed:\n\(result.stdout)\n\(result.stderr)")
                h.check(result.stdout.contains("ok   acl checks done"), "the script ran to its end:\n\(result.stdout)")
                // A catalog registration needs node:write as well as service:write.
                func put(_ path: String, _ body: String, token: String) throws -> HTTPResponse {
                    try HTTPClient.put(server.ip, server.ports.http, path + "?token=" + token, body: Array(body.utf8))
                }
                let policy = try put("/v1/acl/policy", #"{"Name": "any-service-write", "Rules": "service_prefix \"\" { policy = \"write\" }"}"#, token: root)
                let token = try put("/v1/acl/token", #"{"Policies": [{"Name": "any-service-write"}]}"#, token: root)
                let secret = (try? JSONValue.parse(token.body))?["SecretID"]?.stringValue ?? ""
                h.check(policy.status == 200 && !secret.isEmpty, "policy \(policy.status) \(policy.text); token \(token.status) \(token.text)")
                let register = try put("/v1/catalog/register", #"{"Node": "fake-node", "Address": "10.9.9.9", "Service": {"Service": "web"}}"#, token: secret)
                h.check(register.status == 403 && register.text.contains("lacks permission 'node:write' on \"fake-node\""),
                        "a catalog registration without node:write: \(register.status) \(register.text)")
                let nodes = try HTTPClient.get(server.ip, server.ports.http, "/v1/catalog/nodes?token=\(root)")
                h.check(!nodes.text.contains("fake-node"), "the fake node was registered: \(nodes.text)")
                // Without a token the members list is filtered too (default deny: no node:read).
                let members = try HTTPClient.get(clients[0].ip, clients[0].ports.http, "/v1/agent/members")
                h.check(members.status == 200 && members.text == "[]", "anonymous members: \(members.status) \(members.text)")
            }
        }
    }
}
