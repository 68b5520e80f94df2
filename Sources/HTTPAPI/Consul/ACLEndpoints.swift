import Agent
import JSON

/// `/v1/acl/*`: bootstrap, policies and tokens in Consul's shapes. The
/// route's permission (acl:read, acl:write) was checked by `authorize`.
extension ConsulAPI {
    func routeACL(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        guard agent.acl.enabled else { return respond(Self.text(401, "ACL support disabled")) }
        let acl = agent.acl
        // Go decodes JSON field names case-insensitively, so clients send `name` as well as `Name`.
        func body() -> JSONValue? {
            request.body.isEmpty ? .object([]) : (try? JSONValue.parse(request.body)).flatMap { $0.objectValue == nil ? nil : $0 }
        }
        func answer(_ result: Result<ACLToken, ACLState.Failure>) {
            switch result {
            case .success(let token): respond(Self.json(request) { writeToken(token, &$0) })
            case .failure(let f): respond(Self.text(f.status, f.description))
            }
        }
        switch (path.first ?? "", path.count) {
        case ("bootstrap", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            answer(acl.bootstrap())
        case ("policies", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            let policies = acl.store.policies.values.sorted { $0.name < $1.name }
            respond(Self.json(request) { w in
                w.beginArray()
                for p in policies { writePolicy(p, rules: false, &w) }
                w.endArray()
            })
        case ("policy", let n) where n == 1 || (n == 2 && request.method == "PUT"):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let b = body() else { return respond(Self.text(400, "Request decode failed: body must be a JSON object")) }
            let id = path.count == 2 ? path[1] : nil
            let result = acl.savePolicy(id: id, name: b.value(forKeyIgnoringCase: "Name")?.stringValue ?? "", description: b.value(forKeyIgnoringCase: "Description")?.stringValue ?? "",
                                        rules: b.value(forKeyIgnoringCase: "Rules")?.stringValue ?? "", datacenters: b.value(forKeyIgnoringCase: "Datacenters")?.arrayValue?.compactMap(\.stringValue) ?? [])
            switch result {
            case .success(let p): respond(Self.json(request) { writePolicy(p, rules: true, &$0) })
            case .failure(let f): respond(Self.text(f.status, f.description))
            }
        case ("policy", let n) where n == 2 || (n == 3 && path[1] == "name"):
            if let bad = Self.require(request, "GET", "DELETE") { return respond(bad) }
            let policy = path.count == 3 ? acl.store.policy(named: path[2]) : acl.store.policies[path[1]]
            guard let policy else { return respond(Self.text(404, "ACL policy not found")) }
            if request.method == "DELETE" {
                guard path.count == 2 else { return respond(Self.methodNotAllowed(request, allow: ["GET"])) }
                guard acl.deletePolicy(policy.id) else { return respond(Self.text(400, "the builtin global-management policy cannot be deleted")) }
                return respond(Self.json(request) { $0.bool(true) })
            }
            respond(Self.json(request) { writePolicy(policy, rules: true, &$0) })
        case ("tokens", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            let tokens = acl.store.tokens.values.sorted { $0.createTime < $1.createTime }
            // SecretIDs are shown only to a token that could create them anyway.
            let secrets = view?.authorizer.allows(.acl, "", .write) ?? false
            respond(Self.json(request) { w in
                w.beginArray()
                for t in tokens { writeToken(t, showSecret: secrets, &w) }
                w.endArray()
            })
        case ("token", 2) where path[1] == "self":
            if let bad = Self.require(request, "GET") { return respond(bad) }
            guard let identity = view?.identity else { return respond(Self.text(403, "ACL not found")) }
            respond(Self.json(request) { w in writeToken(Self.selfToken(identity, acl, secret: Self.token(of: request)), &w) })
        case ("token", let n) where n == 1 || (n == 2 && request.method == "PUT"):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            guard let b = body() else { return respond(Self.text(400, "Request decode failed: body must be a JSON object")) }
            let accessor = path.count == 2 ? path[1] : b.value(forKeyIgnoringCase: "AccessorID")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            if path.count == 2, acl.store.tokens[path[1]] == nil { return respond(Self.text(403, "ACL not found")) }
            let references = (b.value(forKeyIgnoringCase: "Policies")?.arrayValue ?? []).compactMap { $0.value(forKeyIgnoringCase: "ID")?.stringValue ?? $0.value(forKeyIgnoringCase: "Name")?.stringValue }
            answer(acl.saveToken(accessorID: accessor, secretID: b.value(forKeyIgnoringCase: "SecretID")?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                                 description: b.value(forKeyIgnoringCase: "Description")?.stringValue ?? "", policies: references, local: b.value(forKeyIgnoringCase: "Local")?.boolValue ?? false))
        case ("token", 2):
            if let bad = Self.require(request, "GET", "DELETE") { return respond(bad) }
            guard let token = acl.store.tokens[path[1]] else { return respond(Self.text(403, "ACL not found")) }
            if request.method == "DELETE" {
                return respond(Self.json(request) { $0.bool(acl.deleteToken(token.accessorID)) })
            }
            respond(Self.json(request) { writeToken(token, &$0) })
        default:
            respond(Self.notFound())
        }
    }

    /// What `/v1/acl/token/self` shows for tokens the store does not hold.
    static func selfToken(_ identity: ACLState.Identity, _ acl: ACLState, secret: String?) -> ACLToken {
        switch identity {
        case .token(let token, _): return token
        case .management(let accessor):
            return acl.store.tokens[accessor] ?? ACLToken(accessorID: accessor, secretID: secret ?? "", description: "Initial Management Token",
                                                          policies: [ACLPolicy.managementID])
        case .anonymous, .notFound:
            return ACLToken(accessorID: ACLToken.anonymousID, secretID: "anonymous", description: "Anonymous Token")
        }
    }

    func writeToken(_ t: ACLToken, showSecret: Bool = true, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("AccessorID", t.accessorID)
        w.field("SecretID", showSecret ? t.secretID : "<hidden>")
        w.field("Description", t.description)
        w.key("Policies")
        w.beginArray()
        for id in t.policies {
            w.beginObject()
            w.field("ID", id)
            w.field("Name", agent.acl.store.policies[id]?.name ?? (id == ACLPolicy.managementID ? "global-management" : ""))
            w.endObject()
        }
        w.endArray()
        w.field("Local", t.local)
        w.field("CreateTime", t.createTime)
        w.field("CreateIndex", agent.acl.store.index)
        w.field("ModifyIndex", agent.acl.store.index)
        w.endObject()
    }

    func writePolicy(_ p: ACLPolicy, rules: Bool, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("ID", p.id)
        w.field("Name", p.name)
        w.field("Description", p.description)
        if rules { w.field("Rules", p.rules) }
        w.field("Datacenters", p.datacenters)
        w.field("CreateIndex", agent.acl.store.index)
        w.field("ModifyIndex", agent.acl.store.index)
        w.endObject()
    }
}
