import Agent
import JSON

/// `/v1/agent/health/service/id/:id` and `/name/:name`: a local service's
/// aggregated health as a status code (200 passing, 429 warning, 503
/// critical or maintenance), for load balancers' probes.
extension ConsulAPI {
    func routeAgentHealth(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        if let bad = Self.require(request, "GET") { return respond(bad) }
        guard path.count == 4, path[1] == "service", ["id", "name"].contains(path[2]) else { return respond(Self.notFound()) }
        let asText = request.query["format"] == "text"
        let local = agent.catalog.local
        if path[2] == "id" {
            guard let service = local.service(path[3]) else {
                return respond(Self.text(404, "ServiceId \(path[3]) not found"))
            }
            let (status, checks) = aggregate(service, local)
            if asText { return respond(Self.text(Self.healthCode(status), status)) }
            var response = Self.json(request) { w in writeServiceHealth(service, status, checks, &w) }
            response.status = Self.healthCode(status)
            return respond(response)
        }
        let instances = local.services.filter { $0.name == path[3] }.sorted { $0.id < $1.id }
            .map { ($0, aggregate($0, local)) }
        guard !instances.isEmpty else {
            if asText { return respond(Self.text(404, "ServiceName \(path[3]) Not Found")) }
            var response = Self.json(request) { $0.beginArray(); $0.endArray() }
            response.status = 404
            return respond(response)
        }
        // The worst instance decides, as in Consul (200 < 429 < 503).
        let worst = instances.max { Self.healthCode($0.1.0) < Self.healthCode($1.1.0) }?.1.0 ?? "passing"
        if asText { return respond(Self.text(Self.healthCode(worst), worst)) }
        var response = Self.json(request) { w in
            w.beginArray()
            for (service, (status, checks)) in instances { writeServiceHealth(service, status, checks, &w) }
            w.endArray()
        }
        response.status = Self.healthCode(worst)
        respond(response)
    }

    /// Consul's AggregatedStatus of an instance: "maintenance" while the
    /// service or the node is in maintenance, else the worst of its checks.
    func aggregate(_ service: Catalog.Service, _ r: Catalog.NodeRecord) -> (String, [Catalog.Check]) {
        let checks = r.checks(forService: service.id).sorted { $0.id < $1.id }
        if checks.contains(where: { $0.type == "maintenance" }) { return ("maintenance", checks) }
        return ((checks.map(\.status).max() ?? .passing).rawValue, checks)
    }

    static func healthCode(_ status: String) -> Int {
        switch status {
        case "passing": 200
        case "warning": 429
        default: 503
        }
    }

    func writeServiceHealth(_ s: Catalog.Service, _ status: String, _ checks: [Catalog.Check], _ w: inout JSONWriter) {
        w.beginObject()
        w.field("AggregatedStatus", status)
        w.key("Service"); writeAgentService(s, &w)
        w.key("Checks")
        w.beginArray()
        for c in checks { writeCheck(c, node: agent.catalog.local.node, &w) }
        w.endArray()
        w.endObject()
    }
}
