// Maintenance mode and read filters against a real agent.

import JSON
import Testing

extension Integration {
    @Suite("Maintenance and filters")
    struct MaintenanceAndFilters {
        @Test("service and node maintenance take instances out of ?passing and back; ?dc and ?node-meta filter")
        func maintenanceAndFilters() throws {
            try Harness.run("maint") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [73, 83, 93, 103, 113], ports: h.ports)[0]
                let agent = h.addAgent(name: "m1", ip: ip, retryJoin: [])
                try h.start(agent)
                func put(_ path: String, _ body: String = "") -> HTTPResponse? {
                    try? HTTPClient.put(agent.ip, agent.ports.http, path, body: Array(body.utf8))
                }
                func passing() -> [String] {
                    guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/health/service/web?passing"),
                          let list = try? JSONValue.parse(r.body).arrayValue else { return ["unreadable"] }
                    return list.compactMap { $0["Service"]?["ID"]?.stringValue }
                }
                try h.eventually("\(agent.name) registers web, passing") {
                    let r = put("/v1/agent/service/register", #"{"Name":"web","Check":{"TTL":"300s","Status":"passing"}}"#)
                    return (r?.status == 200 && passing() == ["web"], "\(String(describing: r)) \(passing())")
                }
                h.check(put("/v1/agent/service/maintenance/web?enable=true&reason=deploying")?.status == 200, "enable service maintenance")
                h.check(passing().isEmpty, "in maintenance, web is not passing: \(passing())")
                let checks = (try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/checks"))?.text ?? ""
                h.check(checks.contains("_service_maintenance:web") && checks.contains("deploying"), "the maintenance check carries the reason: \(checks)")
                h.check(put("/v1/agent/service/maintenance/web?enable=false")?.status == 200, "disable service maintenance")
                h.check(passing() == ["web"], "web passes again: \(passing())")
                h.check(put("/v1/agent/maintenance?enable=true")?.status == 200, "enable node maintenance")
                h.check(passing().isEmpty, "node maintenance hides every service: \(passing())")
                h.check(put("/v1/agent/maintenance?enable=false")?.status == 200 && passing() == ["web"], "node maintenance lifted")
                h.check(put("/v1/agent/service/maintenance/none?enable=true")?.status == 404, "unknown service is a 404")
                h.check(put("/v1/agent/maintenance")?.status == 400, "enable is required")

                let otherDC = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/services?dc=elsewhere")
                // A client agent alone has no server to ask, as Consul says.
                h.check(otherDC.status == 500 && otherDC.text.contains("No known Consul servers"), "unknown dc: \(otherDC)")
                let ourDC = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/services?dc=dc1")
                h.check(ourDC.status == 200, "our own dc: \(ourDC)")

                for (node, rack) in [("ext-a", "r1"), ("ext-b", "r2")] {
                    let body = #"{"Node":"\#(node)","Address":"127.0.10.9","NodeMeta":{"rack":"\#(rack)"},"Service":{"Service":"db","ID":"\#(node)-db"}}"#
                    h.check(put("/v1/catalog/register", body)?.status == 200, "register \(node)")
                }
                let r1 = try HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/service/db?node-meta=rack:r1")
                let nodes = (try? JSONValue.parse(r1.body).arrayValue?.compactMap { $0["Node"]?.stringValue }) ?? nil
                h.check(nodes == ["ext-a"], "node-meta filter: \(r1)")
            }
        }
    }
}
