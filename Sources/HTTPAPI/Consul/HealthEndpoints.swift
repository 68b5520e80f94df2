import Agent
import JSON
import Membership
import Sockets

/// TTL check updates (`/v1/agent/check/*`), `/v1/agent/checks` and
/// `/v1/health/service/:name`. Every node also has Consul's `serfHealth`
/// check, derived from the gossip pool at read time.
extension ConsulAPI {
    func routeAgentChecks(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        switch (path.first ?? "", path.count) {
        case ("checks", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            var record = agent.catalog.local
            if view != nil { record.checks = view?.filter([record], nodes: true).first?.checks ?? [] }
            respond(indexed(request) { w in
                w.beginObject()
                for check in record.checks.sorted(by: { $0.id < $1.id }) {
                    w.key(check.id)
                    writeCheck(check, node: record.node, &w)
                }
                w.endObject()
            })
        case ("check", 2) where path[1] == "register":
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let json = try? JSONValue.parse(request.body) else {
                return respond(Self.text(400, "Request decode failed: body is not valid JSON"))
            }
            switch agent.registerCheck(json) {
            case .success: respondWhenDurable(Self.empty(), respond)
            case .failure(.unknownService(let id)): respond(Self.text(404, "ServiceID \"\(id)\" does not exist"))
            case .failure(let error): respond(Self.text(400, error.description))
            }
        case ("check", 3) where path[1] == "deregister":
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            let id = path[2]
            // Maintenance checks belong to the maintenance endpoints.
            guard let check = agent.catalog.local.check(id), check.type != "maintenance" else {
                return respond(Self.text(404, "Unknown check ID \"\(id)\". Ensure that the check ID is passed, not the check name."))
            }
            agent.catalog.removeCheck(id)
            respondWhenDurable(Self.empty(), respond)
        case ("check", 3) where ["pass", "warn", "fail", "update"].contains(path[1]):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            let id = path[2]
            var status: Catalog.HealthStatus
            var output = request.query["note"] ?? ""
            switch path[1] {
            case "pass": status = .passing
            case "warn": status = .warning
            case "fail": status = .critical
            default:
                guard let body = try? JSONValue.parse(request.body), body.objectValue != nil else {
                    return respond(Self.text(400, "Request decode failed: body must be a JSON object"))
                }
                let text = body.value(forKeyIgnoringCase: "Status")?.stringValue ?? ""
                guard let s = Catalog.HealthStatus(rawValue: text) else {
                    return respond(Self.text(400, "Invalid check status: \"\(text)\""))
                }
                status = s
                output = body.value(forKeyIgnoringCase: "Output")?.stringValue ?? ""
            }
            guard agent.catalog.updateTTL(id, status: status, output: output) else {
                return respond(Self.text(500, "CheckID \"\(id)\" does not have associated TTL"))
            }
            respond(Self.empty())
        default:
            respond(Self.notFound())
        }
    }

    func routeHealth(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        if let bad = Self.require(request, "GET") { return respond(bad) }
        guard path.count == 2 else { return respond(Self.notFound()) }
        var records = agent.catalog.replica.records.values.sorted { $0.node < $1.node }
            .filter { Self.matchesNodeMeta(request, $0) }
        records = view?.filter(records) ?? records
        records = sortedNear(request, records)
        switch path[0] {
        case "service": respond(healthService(request, name: path[1], records))
        case "node":
            let checks = records.first { $0.node == path[1] }.map { r in nodeChecks(r).map { (r.node, $0) } } ?? []
            respond(checkList(request, checks))
        case "checks":
            let checks = records.flatMap { r in r.checks.filter { $0.serviceName == path[1] }.map { (r.node, $0) } }
            respond(checkList(request, checks))
        case "state":
            let state = path[1]
            guard state == "any" || Catalog.HealthStatus(rawValue: state) != nil else {
                return respond(Self.text(400, "Invalid state: \(state)"))
            }
            let all = records.flatMap { r in nodeChecks(r).map { (r.node, $0) } }
            respond(checkList(request, all.filter { state == "any" || $0.1.status.rawValue == state }))
        default:
            respond(Self.notFound())
        }
    }

    func healthService(_ request: HTTPRequest, name: String, _ records: [Catalog.NodeRecord]) -> HTTPResponse {
        let passingOnly = Self.isTrue(request, "passing")
        let wanted = request.query.values("tag")
        return indexed(request) { w in
            w.beginArray()
            for r in records {
                let serf = agentHealth(r)
                for s in r.services where s.name == name && wanted.allSatisfy(s.tags.contains) {
                    let checks = serf + r.checks(forService: s.id).sorted { $0.id < $1.id }
                    if passingOnly && !checks.allSatisfy({ $0.status == .passing }) { continue }
                    w.beginObject()
                    w.key("Node"); writeNode(r, &w)
                    w.key("Service"); writeAgentService(s, node: r.node, &w)
                    w.key("Checks")
                    w.beginArray()
                    for c in checks { writeCheck(c, node: r.node, &w) }
                    w.endArray()
                    w.endObject()
                }
            }
            w.endArray()
        }
    }

    func checkList(_ request: HTTPRequest, _ checks: [(String, Catalog.Check)]) -> HTTPResponse {
        indexed(request) { w in
            w.beginArray()
            for (node, check) in checks { writeCheck(check, node: node, &w) }
            w.endArray()
        }
    }

    /// A record's checks with `serfHealth` in front for nodes that run an
    /// agent. External nodes (registered through /v1/catalog/register)
    /// have only the checks they were registered with.
    func nodeChecks(_ r: Catalog.NodeRecord) -> [Catalog.Check] { agentHealth(r) + r.checks }

    func agentHealth(_ r: Catalog.NodeRecord) -> [Catalog.Check] {
        r.owner == r.node ? [serfHealth(r.node)] : []
    }

    /// Consul's `serfHealth`: passing while the node's agent is a live member.
    func serfHealth(_ node: String) -> Catalog.Check {
        let live = agent.lan.instance.member(named: node)?.status.isLive ?? false
        return Catalog.Check(id: "serfHealth", name: "Serf Health Status", status: live ? .passing : .critical,
                             output: live ? "Agent alive and reachable" : "Agent not live or unreachable")
    }

    func writeCheck(_ c: Catalog.Check, node: String, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("Node", node)
        w.field("CheckID", c.id)
        w.field("Name", c.name)
        w.field("Status", c.status.rawValue)
        w.field("Notes", c.notes)
        w.field("Output", c.output)
        w.field("ServiceID", c.serviceID)
        w.field("ServiceName", c.serviceName)
        w.field("ServiceTags", c.serviceTags)
        w.field("Type", c.type)
        w.field("Interval", c.interval)
        w.field("Timeout", c.timeout)
        writeIndexes(node, { $0.check(c.id) }, &w)
        w.endObject()
    }
}
