import Agent
import JSON

/// What each route needs of the request's token, in one place (Consul's
/// rules), and the filtering of what reads return. With ACLs off none of
/// this runs.
extension ConsulAPI {
    /// The secret a request carries: `?token=`, else `X-Consul-Token`,
    /// else `Authorization: Bearer` (Consul's order).
    static func token(of request: HTTPRequest) -> String? {
        if let t = request.query["token"], !t.isEmpty { return t }
        if let t = request.headers["X-Consul-Token"], !t.isEmpty { return t }
        if let auth = request.headers["Authorization"] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let t = parts[1].drop { $0 == " " }
                if !t.isEmpty { return String(t) }
            }
        }
        return nil
    }

    /// Consul's 403 for a token without the permission.
    static func permissionDenied(_ identity: ACLState.Identity, _ resource: ACLResource, _ access: ACLAccess, _ name: String?) -> HTTPResponse {
        let on = name.map { " on \"\($0)\"" } ?? ""
        return text(403, "Permission denied: token with AccessorID '\(identity.accessorID)' lacks permission '\(resource.rawValue):\(access)'\(on)")
    }

    /// Checks the request against its route's requirement: nil to go on,
    /// else the 403 to send. Reads that list things go on and are filtered.
    func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        view = nil
        guard agent.acl.enabled else { return nil }
        let segments = request.pathSegments
        // Consul answers these whatever the token.
        if segments[1] == "status" || (segments[1] == "acl" && segments.dropFirst(2).first == "bootstrap") { return nil }
        let identity = agent.acl.resolve(Self.token(of: request))
        guard let authorizer = identity.authorizer else { return Self.text(403, "ACL not found") }
        view = ACLView(identity: identity, authorizer: authorizer)
        // A catalog registration writes its node as well as its service (Consul asks both).
        if segments.dropFirst().starts(with: ["catalog", "register"]) {
            let node = (try? JSONValue.parse(request.body))?.value(forKeyIgnoringCase: "Node")?.stringValue ?? ""
            if !authorizer.allows(.node, node, .write) { return Self.permissionDenied(identity, .node, .write, node) }
        }
        guard let (resource, name, access) = requirement(request) else { return nil }
        if authorizer.allows(resource, name ?? "", access) { return nil }
        return Self.permissionDenied(identity, resource, access, name)
    }

    /// The one permission a route needs up front (nil: none, or a read
    /// whose answer is filtered instead).
    func requirement(_ request: HTTPRequest) -> (ACLResource, String?, ACLAccess)? {
        let s = request.pathSegments
        let rest = Array(s.dropFirst(2))
        let read = request.method == "GET" || request.method == "HEAD"
        let node = agent.config.nodeName
        switch (s[1], rest.first ?? "") {
        case ("acl", "token") where rest.count == 2 && rest[1] == "self": return nil
        case ("acl", _): return (.acl, nil, read ? .read : .write)
        case ("operator", "keyring"): return (.keyring, nil, read ? .read : .write)
        case ("operator", _): return (.operator, nil, read ? .read : .write)
        case ("catalog", "register"):
            let body = try? JSONValue.parse(request.body)
            if let service = body?.value(forKeyIgnoringCase: "Service")?.value(forKeyIgnoringCase: "Service")?.stringValue {
                return (.service, service, .write)
            }
            return (.node, body?.value(forKeyIgnoringCase: "Node")?.stringValue ?? "", .write)
        case ("catalog", "deregister"):
            let body = try? JSONValue.parse(request.body)
            return (.node, body?.value(forKeyIgnoringCase: "Node")?.stringValue ?? "", .write)
        case ("agent", "host"): return (.operator, nil, .read)
        case ("event", "fire") where rest.count == 2: return (.event, rest[1], .write)
        case ("agent", "self"), ("agent", "metrics"), ("agent", "version"), ("agent", "monitor"): return (.agent, node, .read)
        case ("agent", "join"), ("agent", "leave"), ("agent", "reload"): return (.agent, node, .write)
        case ("agent", "force-leave"): return (.operator, nil, .write)
        case ("agent", "maintenance"): return (.node, node, .write)
        case ("agent", "service") where rest.count >= 2 && rest[1] == "register":
            let body = try? JSONValue.parse(request.body)
            return (.service, body?.value(forKeyIgnoringCase: "Name")?.stringValue ?? "", .write)
        case ("agent", "service") where rest.count == 3 && ["deregister", "maintenance"].contains(rest[1]):
            return (.service, agent.catalog.local.service(rest[2])?.name ?? rest[2], .write)
        case ("agent", "service") where rest.count == 2:
            return (.service, agent.catalog.local.service(rest[1])?.name ?? rest[1], .read)
        case ("agent", "check") where rest.count == 2 && rest[1] == "register":
            // A check on a service needs that service's write; a node check the node's.
            let body = try? JSONValue.parse(request.body)
            if let id = body?.value(forKeyIgnoringCaseAndUnderscores: "ServiceID")?.stringValue, !id.isEmpty {
                return (.service, agent.catalog.local.service(id)?.name ?? id, .write)
            }
            return (.node, node, .write)
        case ("agent", "health") where rest.count == 4:
            let name = rest[2] == "id" ? agent.catalog.local.service(rest[3])?.name ?? rest[3] : rest[3]
            return (.service, name, .read)
        case ("agent", "check") where rest.count == 3:
            guard let check = agent.catalog.local.checks.first(where: { $0.id == rest[2] }), !check.serviceName.isEmpty else {
                return (.node, node, .write)
            }
            return (.service, check.serviceName, .write)
        default: return nil
        }
    }
}

/// Who the current request is and what it may read: consulted by the
/// endpoints that list things (loop-confined, one request at a time).
struct ACLView {
    let identity: ACLState.Identity
    let authorizer: ACLAuthorizer
    /// Whether something was left out of the answer being rendered.
    var filtered = false

    func mayRead(node: String) -> Bool { authorizer.allows(.node, node, .read) }
    func mayRead(service: String) -> Bool { authorizer.allows(.service, service, .read) }

    /// The records as this token may see them (`ACLAuthorizer.filter`).
    mutating func filter(_ records: [Catalog.NodeRecord], nodes: Bool = true) -> [Catalog.NodeRecord] {
        let (visible, left) = authorizer.filter(records, nodes: nodes)
        if left { filtered = true }
        return visible
    }
}
