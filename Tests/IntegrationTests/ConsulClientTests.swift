// An unmodified Consul client library (py-consul, from PyPI; scripts/test.sh
// installs it) drives a real agent: register with a TTL check, list, health
// with passing before and after ttl_pass, tag filters, deregister, and
// blocking queries that return on change or wait. The Python side is
// Tests/IntegrationTests/python/consul_client_check.py.

import Testing

extension Integration {
    @Suite("Consul client library")
    struct ConsulClient {
        static let script: String = {
            let here = String(#filePath)
            let folder = here.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            return folder + "/python/consul_client_check.py"
        }()

        @Test("py-consul, unmodified, registers, reads health and runs blocking queries against fedagent")
        func pyConsul() throws {
            try Harness.run("pyconsul") { h in
                let probe = try h.run("/usr/bin/env", ["python3", "-c", "import consul"], label: "python3")
                guard probe.status == .exited(0) else {
                    h.check(false, "py-consul is not installed: run scripts/test.sh, which installs it (\(probe.stderr))")
                    return
                }
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [76, 86, 96, 106, 116], ports: h.ports)[0]
                let agent = h.addAgent(name: "pyc1", ip: ip, retryJoin: [])
                agent.command = [h.binary] + agent.arguments + ["-enable-script-checks"]
                try h.start(agent)
                try h.eventually("\(agent.name) answers HTTP") {
                    let ok = (try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/status/leader"))?.status == 200
                    return (ok, "")
                }
                let result = try h.run("/usr/bin/env", ["python3", Self.script, agent.ip, String(agent.ports.http)],
                                       label: "python3 consul_client_check.py", timeout: 120)
                h.check(result.status == .exited(0), "py-consul checks failed:\n\(result.stdout)\n\(result.stderr)")
                h.check(result.stdout.contains("ok   catalog no longer lists web"), "the script ran to its end:\n\(result.stdout)")
            }
        }
    }
}
