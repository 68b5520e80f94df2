// Upstream ports on one agent: declared with a service, carried to a local
// instance, back after `kill -9` and a restart from the data dir, and gone
// with the service.

import Glibc
import Testing

extension Integration {
    @Suite("Upstream ports on loopback")
    struct UpstreamPorts {
        /// Whether something accepts TCP connections on ip:port.
        static func listening(_ ip: String, _ port: UInt16) -> Bool {
            LoopbackBlock.bindError(ip, port, type: Int32(SOCK_STREAM.rawValue)) == EADDRINUSE
        }

        @Test("a service's upstream port carries connections to the destination's instance, survives kill -9 and a restart, and closes with the service")
        func upstreamPortFollowsItsService() throws {
            try Harness.run("upstream") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [69, 79, 89, 99, 109], ports: h.ports)[0]
                let upstreamPort: UInt16 = 19191
                guard !Self.listening(ip, upstreamPort) else { throw h.fail("\(ip):\(upstreamPort) is taken") }
                let agent = h.addAgent(name: "up1", ip: ip, retryJoin: [])
                try h.start(agent)
                // The destination: this agent's own HTTP API, registered as service "api".
                let api = Array(#"{"Name":"api","Address":"\#(ip)","Port":\#(agent.ports.http)}"#.utf8)
                func declaring(_ name: String) -> [UInt8] {
                    Array("""
                        {"Name":"\(name)","Port":8080,"Connect":{"SidecarService":{"Proxy":{"Upstreams":[
                          {"DestinationName":"api","LocalBindAddress":"\(ip)","LocalBindPort":\(upstreamPort)}]}}}}
                        """.utf8)
                }
                let frontend = declaring("frontend")
                try h.eventually("the agent takes both registrations") {
                    let a = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: api)
                    let f = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: frontend)
                    return (a?.status == 200 && f?.status == 200, "\(String(describing: a)) \(String(describing: f))")
                }
                try h.eventually("the upstream port reaches the api instance") {
                    let r = try? HTTPClient.get(ip, upstreamPort, "/v1/agent/self")
                    return (r?.status == 200 && r?.text.contains("\"NodeName\":\"up1\"") == true, "\(String(describing: r))")
                }
                let taken = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: declaring("other"))
                h.check(taken.status == 400 && taken.text.contains("already"), "a second upstream on the same port is a 400: \(taken)")

                h.signal(agent, SIGKILL)
                _ = h.waitForExit(agent)
                try h.start(agent)
                try h.eventually("after a restart from the data dir the upstream port works again") {
                    let r = try? HTTPClient.get(ip, upstreamPort, "/v1/status/leader")
                    return (r?.status == 200, "\(String(describing: r))")
                }
                let gone = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/deregister/frontend")
                h.check(gone.status == 200, "deregister frontend: \(gone)")
                try h.eventually("the port closes with its service") {
                    (!Self.listening(ip, upstreamPort), "still listening")
                }
            }
        }
    }
}
