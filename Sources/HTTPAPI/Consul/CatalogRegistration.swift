import Agent
import JSON

/// `PUT /v1/catalog/register` and `/v1/catalog/deregister`: nodes that run
/// no agent, owned and gossiped by the agent that took them.
extension ConsulAPI {
    func catalogRegister(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond) {
        guard let body = try? JSONValue.parse(request.body), body.objectValue != nil else {
            return respond(Self.text(400, "Request decode failed: body must be a JSON object"))
        }
        func string(_ v: JSONValue?, _ key: String) -> String? { v?.value(forKeyIgnoringCaseAndUnderscores: key)?.stringValue }
        func map(_ key: String) -> [String: String] {
            var out: [String: String] = [:]
            for (k, v) in body.value(forKeyIgnoringCaseAndUnderscores: key)?.objectValue ?? [] { out[k] = v.stringValue ?? "" }
            return out
        }
        guard let node = string(body, "Node"), !node.isEmpty else { return respond(Self.text(400, "Must provide node")) }
        guard let address = string(body, "Address"), !address.isEmpty else { return respond(Self.text(400, "Must provide address")) }
        if let dc = string(body, "Datacenter"), !dc.isEmpty, dc != agent.config.datacenter {
            return respond(Self.text(500, "No path to datacenter"))
        }
        var service: Catalog.Service?
        if let s = body.value(forKeyIgnoringCaseAndUnderscores: "Service"), s.objectValue != nil {
            // The catalog form names the service "Service", the agent form "Name".
            var definition = s
            if case .object(var pairs) = s, s.value(forKeyIgnoringCase: "Name") == nil,
               let name = s.value(forKeyIgnoringCase: "Service") {
                pairs.removeAll { $0.0.lowercased() == "service" }
                pairs.append(("Name", name))
                definition = .object(pairs)
            }
            switch ServiceDefinition.parse(json: definition) {
            case .success(let (parsed, _)): service = parsed
            case .failure(let error): return respond(Self.text(400, error.description))
            }
        }
        var checkObjects: [JSONValue] = []
        if let c = body.value(forKeyIgnoringCaseAndUnderscores: "Check"), c.objectValue != nil { checkObjects.append(c) }
        checkObjects += body.value(forKeyIgnoringCaseAndUnderscores: "Checks")?.arrayValue ?? []
        var checks: [Catalog.Check] = []
        for c in checkObjects {
            guard let id = string(c, "CheckID") ?? string(c, "Name"), !id.isEmpty else {
                return respond(Self.text(400, "Missing check ID"))
            }
            let statusText = string(c, "Status") ?? "critical"
            guard let status = Catalog.HealthStatus(rawValue: statusText.isEmpty ? "critical" : statusText) else {
                return respond(Self.text(400, "Invalid check status: \"\(statusText)\""))
            }
            var check = Catalog.Check(id: id, name: string(c, "Name") ?? id, status: status, notes: string(c, "Notes") ?? "",
                                      output: String((string(c, "Output") ?? "").utf8.prefix(Catalog.maxOutputBytes)) ?? "",
                                      serviceID: string(c, "ServiceID") ?? "")
            if let sid = Optional(check.serviceID), !sid.isEmpty, let owner = service, owner.id == sid {
                check.serviceName = owner.name
                check.serviceTags = owner.tags
            }
            checks.append(check)
        }
        if let problem = Catalog.Limits.problem(node: node, address: address, meta: map("NodeMeta"),
                                                taggedAddresses: map("TaggedAddresses"))
            ?? checks.lazy.compactMap(Catalog.Limits.problem(in:)).first {
            return respond(Self.text(400, problem))
        }
        if let existing = agent.catalog.external[node] {
            let services = existing.services.count + (service.map { existing.service($0.id) == nil ? 1 : 0 } ?? 0)
            let added = checks.filter { existing.check($0.id) == nil }.count
            if let problem = Catalog.Limits.problem(services: services, checks: existing.checks.count + added) {
                return respond(Self.text(400, problem))
            }
        }
        if node == agent.config.nodeName {
            return respond(Self.text(400, "use /v1/agent/service/register for this agent's own node (\(node))"))
        }
        agent.catalog.registerExternal(node: node, address: address, taggedAddresses: map("TaggedAddresses"),
                                       meta: map("NodeMeta"), service: service, checks: checks)
        respondWhenDurable(Self.json(request) { $0.bool(true) }, respond)
    }

    func catalogDeregister(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond) {
        guard let body = try? JSONValue.parse(request.body), body.objectValue != nil else {
            return respond(Self.text(400, "Request decode failed: body must be a JSON object"))
        }
        guard let node = body.value(forKeyIgnoringCase: "Node")?.stringValue, !node.isEmpty else {
            return respond(Self.text(400, "Must provide node"))
        }
        let serviceID = body.value(forKeyIgnoringCaseAndUnderscores: "ServiceID")?.stringValue
        let checkID = body.value(forKeyIgnoringCaseAndUnderscores: "CheckID")?.stringValue
        let removed = agent.catalog.deregisterExternal(node: node, serviceID: serviceID, checkID: checkID)
        respondWhenDurable(Self.json(request) { $0.bool(removed) }, respond)
    }
}
