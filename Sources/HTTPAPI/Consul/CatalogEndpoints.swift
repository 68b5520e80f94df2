import Agent
import JSON
import Sockets

/// `/v1/agent/service*` (local registrations) and `/v1/catalog/*` reads.
/// Reads answer from the local replica and carry Consul's index headers.
extension ConsulAPI {
    func routeAgentServices(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        switch (path.first ?? "", path.count) {
        case ("services", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            var services = agent.catalog.local.services.filter { agent.isAgentService($0.id) }.sorted { $0.id < $1.id }
            if let view {
                let all = services.count
                services = services.filter { view.mayRead(service: $0.name) }
                if services.count != all { self.view?.filtered = true }
            }
            respond(indexed(request) { w in
                w.beginObject()
                for s in services {
                    w.key(s.id)
                    writeAgentService(s, &w)
                }
                w.endObject()
            })
        case ("service", 3) where path[1] == "maintenance":
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let enable = Self.enableFlag(request, respond) else { return }
            guard agent.catalog.setServiceMaintenance(path[2], enable: enable, reason: request.query["reason"] ?? "") else {
                return respond(Self.text(404, "Unknown service ID \"\(path[2])\""))
            }
            respondWhenDurable(Self.empty(), respond)
        case ("service", 2) where path[1] == "register":
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let json = try? JSONValue.parse(request.body) else {
                return respond(Self.text(400, "Request decode failed: body is not valid JSON"))
            }
            switch agent.registerService(json) {
            case .failure(let error): respond(Self.text(400, error.description))
            case .success: respondWhenDurable(Self.empty(), respond)
            }
        case ("service", 3) where path[1] == "deregister":
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard agent.deregisterService(path[2]) else {
                return respond(Self.text(404, "Unknown service ID \"\(path[2])\". Ensure that the service ID is passed, not the service name."))
            }
            respondWhenDurable(Self.empty(), respond)
        case ("service", 2):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            guard let s = agent.catalog.local.service(path[1]), agent.isAgentService(s.id) else {
                return respond(Self.text(404, "unknown service ID: \(path[1])"))
            }
            respond(indexed(request) { w in writeAgentService(s, &w) })
        default:
            respond(Self.notFound())
        }
    }

    func routeCatalog(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        if path == ["register"] || path == ["deregister"] {
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            return path[0] == "register" ? catalogRegister(request, respond) : catalogDeregister(request, respond)
        }
        if let bad = Self.require(request, "GET") { return respond(bad) }
        var records = agent.catalog.replica.records.values.sorted { $0.node < $1.node }
            .filter { Self.matchesNodeMeta(request, $0) }
        // The service list is filtered by service only, as Consul's is.
        records = view?.filter(records, nodes: path != ["services"]) ?? records
        records = sortedNear(request, records)
        switch (path.first ?? "", path.count) {
        case ("datacenters", 1):
            agent.federation.forward(.datacenters, to: agent.config.datacenter) { answer in
                guard case .datacenters(let names) = answer else {
                    return respond(Self.forwardingFailure(answer))
                }
                respond(Self.json(request) { $0.stringArray(names) })
            }
        case ("nodes", 1):
            respond(indexed(request) { w in
                w.beginArray()
                for r in records { writeNode(r, &w) }
                w.endArray()
            })
        case ("services", 1):
            var tags: [String: Set<String>] = [:]
            for r in records { for s in r.services { tags[s.name, default: []].formUnion(s.tags) } }
            respond(indexed(request) { w in
                w.beginObject()
                for name in tags.keys.sorted() { w.field(name, (tags[name] ?? []).sorted()) }
                w.endObject()
            })
        case ("node", 2):
            guard let r = records.first(where: { $0.node == path[1] }) else {
                return respond(indexed(request) { $0.null() })
            }
            respond(indexed(request) { w in
                w.beginObject()
                w.key("Node"); writeNode(r, &w)
                w.key("Services")
                w.beginObject()
                for s in r.services.sorted(by: { $0.id < $1.id }) {
                    w.key(s.id)
                    writeAgentService(s, node: r.node, &w)
                }
                w.endObject()
                w.endObject()
            })
        case ("service", 2):
            let name = path[1]
            let wanted = request.query.values("tag")
            respond(indexed(request) { w in
                w.beginArray()
                for r in records {
                    for s in r.services where s.name == name && wanted.allSatisfy(s.tags.contains) {
                        writeCatalogService(r, s, &w)
                    }
                }
                w.endArray()
            })
        default:
            respond(Self.notFound())
        }
    }

    /// `?enable=true|false` of the maintenance endpoints; answers 400 itself when bad.
    static func enableFlag(_ request: HTTPRequest, _ respond: HTTPServer.Respond) -> Bool? {
        guard let text = request.query["enable"] else {
            respond(text(400, "Missing value for enable"))
            return nil
        }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default:
            respond(Self.text(400, "Invalid value for enable: \"\(text)\""))
            return nil
        }
    }

    /// `?node-meta=key:value` (repeatable): every pair must match the node's meta.
    static func matchesNodeMeta(_ request: HTTPRequest, _ r: Catalog.NodeRecord) -> Bool {
        request.query.values("node-meta").allSatisfy { pair in
            let parts = pair.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
            return r.meta[key] == value
        }
    }

    /// A JSON response with `X-Consul-Index` and the leader headers.
    func indexed(_ request: HTTPRequest, _ build: (inout JSONWriter) -> Void) -> HTTPResponse {
        var response = Self.json(request, build)
        if view?.filtered == true { response.headers.set("X-Consul-Results-Filtered-By-ACLs", "true") }
        response.headers.set("X-Consul-Index", String(agent.catalog.replica.index))
        response.headers.set("X-Consul-KnownLeader", "true")
        response.headers.set("X-Consul-LastContact", "0")
        return response
    }

    /// A service as the agent endpoints show it; catalog and health reads
    /// pass the `node` whose entry indexes it carries, as Consul's do.
    func writeAgentService(_ s: Catalog.Service, node: String? = nil, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("ID", s.id)
        w.field("Service", s.name)
        w.field("Tags", s.tags)
        w.key("Meta"); writeMap(s.meta, &w)
        w.field("Port", s.port)
        w.field("Address", s.address)
        writeServiceTaggedAddresses(s, &w)
        w.key("Weights"); w.beginObject(); w.field("Passing", s.weights.passing); w.field("Warning", s.weights.warning); w.endObject()
        w.field("EnableTagOverride", s.enableTagOverride)
        w.field("Datacenter", agent.config.datacenter)
        if let node { writeIndexes(node, { $0.service(s.id) }, &w) }
        w.endObject()
    }

    /// Consul's defaults for a service with an address of its own:
    /// `lan_ipv4`/`wan_ipv4` (or `_ipv6`) with the service's address and
    /// port; without one, the node's addresses apply and none are shown.
    func writeServiceTaggedAddresses(_ s: Catalog.Service, key: String = "TaggedAddresses", _ w: inout JSONWriter) {
        guard let ip = IPAddress.parse(s.address) else { return }
        let family = ip.count == 4 ? "ipv4" : "ipv6"
        w.key(key)
        w.beginObject()
        for name in ["lan_\(family)", "wan_\(family)"] {
            w.key(name)
            w.beginObject(); w.field("Address", s.address); w.field("Port", s.port); w.endObject()
        }
        w.endObject()
    }

    func writeNode(_ r: Catalog.NodeRecord, _ w: inout JSONWriter) {
        w.beginObject()
        writeNodeFields(r, metaKey: "Meta", &w)
        writeIndexes(r.node, \.node, &w)
        w.endObject()
    }

    /// The node's fields as Consul's node and service entries both start.
    func writeNodeFields(_ r: Catalog.NodeRecord, metaKey: String, _ w: inout JSONWriter) {
        w.field("ID", r.id)
        w.field("Node", r.node)
        w.field("Address", r.address)
        w.field("Datacenter", r.datacenter)
        w.key("TaggedAddresses"); writeMap(r.taggedAddresses, &w)
        w.key(metaKey); writeMap(r.meta, &w)
    }

    /// CreateIndex and ModifyIndex of a node, service or check entry.
    func writeIndexes(_ node: String, _ entry: (Catalog.EntryIndexes) -> Catalog.IndexPair, _ w: inout JSONWriter) {
        let i = agent.catalog.replica.indexes[node].map(entry) ?? Catalog.IndexPair(create: 1, modify: 1)
        w.field("CreateIndex", Int(i.create))
        w.field("ModifyIndex", Int(i.modify))
    }

    func writeCatalogService(_ r: Catalog.NodeRecord, _ s: Catalog.Service, _ w: inout JSONWriter) {
        w.beginObject()
        writeNodeFields(r, metaKey: "NodeMeta", &w)
        w.field("ServiceKind", s.kind)
        w.field("ServiceID", s.id)
        w.field("ServiceName", s.name)
        w.field("ServiceTags", s.tags)
        w.field("ServiceAddress", s.address)
        w.key("ServiceWeights")
        w.beginObject(); w.field("Passing", s.weights.passing); w.field("Warning", s.weights.warning); w.endObject()
        w.key("ServiceMeta"); writeMap(s.meta, &w)
        w.field("ServicePort", s.port)
        writeServiceTaggedAddresses(s, key: "ServiceTaggedAddresses", &w)
        w.field("ServiceEnableTagOverride", s.enableTagOverride)
        writeIndexes(r.node, { $0.service(s.id) }, &w)
        w.endObject()
    }

    func writeMap(_ m: [String: String], _ w: inout JSONWriter) {
        w.beginObject()
        for k in m.keys.sorted() { w.field(k, m[k] ?? "") }
        w.endObject()
    }
}
