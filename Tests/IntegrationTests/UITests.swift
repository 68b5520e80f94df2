// The web UI in headless Chromium against two federated datacenters:
// datacenters listed and switchable, a service passing then critical
// without a reload, an instance's checks, a failed member, a phone-sized
// screen. The browser side is python/ui_check.py (DevTools over a
// WebSocket); screenshots land in .build/ui-screenshots for a person.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Web UI")
    struct WebUI {
        static let script: String = {
            let folder = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            return folder + "/python/ui_check.py"
        }()

        @Test("the UI in Chromium: two datacenters, a service turning critical live, a failed member, a phone screen")
        func ui() throws {
            try Harness.run("ui") { h in
                let candidates: [String] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                guard let chromium = candidates.first(where: { access($0, X_OK) == 0 }) else {
                    throw h.fail("chromium is not installed (scripts/test.sh installs it)")
                }
                let octets = [158, 168, 178]
                let ips = try LoopbackBlock.pick(count: 4, thirdOctets: octets, ports: h.ports)
                let serverIPs = try LoopbackBlock.pick(count: 4, thirdOctets: octets, ports: AgentPorts(gossip: 8302, http: 8300, dns: 8302))
                guard ips == serverIPs else { throw h.fail("no loopback block with every port free: \(ips) vs \(serverIPs)") }
                func agent(_ name: String, _ ip: String, dc: String, server: Bool, join: String?, wan: String? = nil) -> TestAgent {
                    let a = h.addAgent(name: name, ip: ip, retryJoin: join.map { [$0] } ?? [])
                    var extra = ["-datacenter", dc]
                    if server { extra += ["-server", "-ui"] }
                    if let wan { extra += ["-retry-join-wan", wan] }
                    a.command = [h.binary] + a.arguments + extra
                    return a
                }
                let s1 = agent("s1", ips[0], dc: "dc1", server: true, join: nil)
                let web = agent("uiweb", ips[1], dc: "dc1", server: false, join: ips[0])
                let doomed = agent("uifail", ips[2], dc: "dc1", server: false, join: ips[0])
                let s2 = agent("s2", ips[3], dc: "dc2", server: true, join: nil, wan: ips[0])
                for a in [s1, web, doomed, s2] { try h.start(a) }
                try h.eventually("dc1 has three members and both datacenters are federated") {
                    try h.requireRunning([s1, web, doomed, s2])
                    let alive = (try? h.members(of: s1).filter { $0.status == MemberView.alive }.count) ?? 0
                    let dcs = (try? HTTPClient.get(s1.ip, s1.ports.http, "/v1/catalog/datacenters")).map(\.text) ?? ""
                    return (alive == 3 && dcs.contains("dc2"), "\(alive) alive, \(dcs)")
                }
                func register(_ a: TestAgent, _ body: String) throws {
                    let r = try HTTPClient.put(a.ip, a.ports.http, "/v1/agent/service/register", body: Array(body.utf8))
                    h.check(r.status == 200, "register on \(a.name): \(r)")
                }
                try register(web, #"{"Name": "web", "Port": 80, "Check": {"TTL": "600s", "Status": "passing"}}"#)
                try register(s2, #"{"Name": "api", "Port": 81}"#)
                h.signal(doomed, SIGKILL)
                _ = h.waitForExit(doomed)
                try h.eventually("s1 holds uifail failed") {
                    let status = (try? h.members(of: s1).first { $0.name == "uifail" }?.status) ?? 0
                    return (status == MemberView.failed, "status \(status)")
                }
                let page = try HTTPClient.get(s1.ip, s1.ports.http, "/ui/")
                h.check(page.status == 200 && page.header("Content-Security-Policy")?.contains("default-src 'none'") == true,
                        "the page, with its CSP: \(page.status)")
                let root = try HTTPClient.get(s1.ip, s1.ports.http, "/")
                h.check(root.status == 301 && root.header("Location") == "/ui/", "/ redirects to /ui/: \(root)")
                let off = try HTTPClient.get(web.ip, web.ports.http, "/ui/")
                h.check(off.status == 404, "a client without -ui serves no UI: \(off.status)")

                let shots = Harness.repositoryRoot + "/.build/ui-screenshots"
                let result = try h.run("/usr/bin/env", ["python3", Self.script, chromium, "http://\(s1.ip):\(s1.ports.http)/ui/",
                                                        "http://\(web.ip):\(web.ports.http)", shots],
                                       label: "python3 ui_check.py", timeout: 240)
                h.check(result.status == .exited(0), "the UI checks failed:\n\(result.stdout)\n\(result.stderr)")
                h.check(result.stdout.contains("ok   on a phone screen"), "the script ran to its end:\n\(result.stdout)")
                h.note("screenshots in \(shots)")
            }
        }
    }
}
