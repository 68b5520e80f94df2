import Sockets

/// The agent's ACL state and the answer to "what may this token do": the
/// replicated store, the configured tokens, writes from the HTTP API
/// (published to the LAN pool through the catalog's gossip, and kept in
/// `-data-dir`). Loop-confined.
public final class ACLState {
    public let settings: ACLSettings
    public private(set) var store = ACLStore()
    private let writer: String
    private let path: String?
    /// Sends a new entry to the pool (set by the agent: the catalog's gossip).
    var publish: (ACLStore.Entry) -> Void = { _ in }
    private var observers: [() -> Void] = []

    /// Called after every change of the state (the DNS snapshot hooks here).
    public func observeChanges(_ observer: @escaping () -> Void) { observers.append(observer) }

    init(settings: ACLSettings, writer: String, dataDir: String?) {
        self.settings = settings
        self.writer = writer
        path = dataDir.map { $0 + "/acl-state" }
        if let path, let bytes = DataFile.read(path, limit: 64 << 20) {
            do {
                for entry in try ACLStore.decode(bytes) { store.apply(entry) }
            } catch {
                Log.error("agent", "ignoring unreadable \(path): \(error) (the pool sends the ACL state again)")
            }
        }
    }

    public var enabled: Bool { settings.enabled }

    /// Who a request is, by the secret it carried (nil: none carried).
    public enum Identity {
        case management(accessorID: String)
        case token(ACLToken, ACLAuthorizer)
        /// No token (and no default token): the anonymous token.
        case anonymous(ACLAuthorizer)
        /// A secret no agent of the datacenter issued: Consul's "ACL not found".
        case notFound

        public var authorizer: ACLAuthorizer? {
            switch self {
            case .management: return .management
            case .token(_, let a), .anonymous(let a): return a
            case .notFound: return nil
            }
        }

        public var accessorID: String {
            switch self {
            case .management(let id): return id
            case .token(let t, _): return t.accessorID
            case .anonymous, .notFound: return ACLToken.anonymousID
            }
        }
    }

    public func resolve(_ secret: String?) -> Identity {
        guard let secret = secret.flatMap({ $0.isEmpty ? nil : $0 }) ?? settings.defaultToken else {
            return .anonymous(ACLAuthorizer(rules: ACLRules(), defaultAllow: settings.defaultAllow))
        }
        if let initial = settings.initialManagement, secret == initial {
            return .management(accessorID: store.token(secret: secret)?.accessorID ?? "initial-management")
        }
        if secret == "anonymous" { return .anonymous(ACLAuthorizer(rules: ACLRules(), defaultAllow: settings.defaultAllow)) }
        guard let token = store.token(secret: secret) else { return .notFound }
        if token.policies.contains(ACLPolicy.managementID) { return .management(accessorID: token.accessorID) }
        var rules = ACLRules()
        for id in token.policies {
            guard let policy = store.policies[id] else { continue }
            rules = rules.merged(with: policy.parsed)
        }
        return .token(token, ACLAuthorizer(rules: rules, defaultAllow: settings.defaultAllow))
    }

    // MARK: - Writes

    public struct Failure: Error, CustomStringConvertible {
        public let status: Int
        public let description: String
    }

    /// Consul's `PUT /v1/acl/bootstrap`: the first management token, once
    /// per datacenter.
    public func bootstrap() -> Result<ACLToken, Failure> {
        guard !store.isBootstrapped else {
            return .failure(Failure(status: 403, description: "Permission denied: ACL bootstrap no longer allowed (reset index: \(store.index))"))
        }
        ensureManagementPolicy()
        let token = ACLToken(accessorID: NodeIdentity.newUUID(), secretID: NodeIdentity.newUUID(),
                             description: "Bootstrap Token (Global Management)", policies: [ACLPolicy.managementID],
                             createTime: Log.timestamp())
        write(.token, token.accessorID, ACLStore.encode(token))
        write(.bootstrap, "bootstrap", Array(token.accessorID.utf8))
        return .success(token)
    }

    private func ensureManagementPolicy() {
        guard store.policies[ACLPolicy.managementID] == nil else { return }
        let policy = ACLPolicy(id: ACLPolicy.managementID, name: "global-management",
                               description: "Builtin Policy that grants unlimited access", rules: "")
        write(.policy, policy.id, ACLStore.encode(policy))
    }

    /// Creates (no `id`) or replaces a policy; `rules` are checked first.
    public func savePolicy(id: String?, name: String, description: String, rules: String, datacenters: [String]) -> Result<ACLPolicy, Failure> {
        guard !name.isEmpty, name.utf8.count <= 128, name.utf8.allSatisfy({ Self.isNameByte($0) }) else {
            return .failure(Failure(status: 400, description: "Invalid Policy: invalid Name \"\(name.prefix(64))\""))
        }
        if let id, id == ACLPolicy.managementID { return .failure(Failure(status: 400, description: "Invalid Policy: the builtin global-management policy cannot be changed")) }
        if let id, store.policies[id] == nil { return .failure(Failure(status: 400, description: "Invalid Policy: cannot find policy \(id)")) }
        if let other = store.policy(named: name), other.id != id {
            return .failure(Failure(status: 400, description: "Invalid Policy: A Policy with Name \"\(name)\" already exists"))
        }
        let parsed: ACLRules
        do {
            parsed = try ACLRules.parse(rules)
        } catch {
            return .failure(Failure(status: 400, description: "Invalid Policy: \(error.description)"))
        }
        let policy = ACLPolicy(id: id ?? NodeIdentity.newUUID(), name: name, description: description, rules: rules,
                               datacenters: datacenters, parsed: parsed)
        let body = ACLStore.encode(policy)
        guard body.count <= ACLStore.bodyLimit else {
            return .failure(Failure(status: 400, description: "Invalid Policy: larger than \(ACLStore.bodyLimit) bytes"))
        }
        guard write(.policy, policy.id, body) else { return .failure(Failure(status: 500, description: "ACL state is full (\(ACLStore.entryLimit) entries)")) }
        return .success(policy)
    }

    /// Creates (no `accessorID`) or replaces a token. Policies by ID or name.
    public func saveToken(accessorID: String?, secretID: String?, description: String, policies: [String], local: Bool) -> Result<ACLToken, Failure> {
        var ids: [String] = []
        for reference in policies {
            guard let policy = store.policies[reference] ?? store.policy(named: reference) else {
                return .failure(Failure(status: 400, description: "Invalid Policy: cannot find policy \(reference.prefix(64))"))
            }
            if !ids.contains(policy.id) { ids.append(policy.id) }
        }
        let existing = accessorID.flatMap { store.tokens[$0] }
        if let accessorID, existing == nil, !NodeIdentity.isUUID(accessorID) {
            return .failure(Failure(status: 400, description: "Invalid Token: AccessorID is not a UUID"))
        }
        if let secretID, !NodeIdentity.isUUID(secretID) { return .failure(Failure(status: 400, description: "Invalid Token: SecretID is not a UUID")) }
        if let secretID, let holder = store.token(secret: secretID), holder.accessorID != accessorID {
            return .failure(Failure(status: 400, description: "Invalid Token: SecretID is already in use"))
        }
        let token = ACLToken(accessorID: accessorID ?? NodeIdentity.newUUID(), secretID: secretID ?? existing?.secretID ?? NodeIdentity.newUUID(),
                             description: description, policies: ids, local: local, createTime: existing?.createTime ?? Log.timestamp())
        guard write(.token, token.accessorID, ACLStore.encode(token)) else {
            return .failure(Failure(status: 500, description: "ACL state is full (\(ACLStore.entryLimit) entries)"))
        }
        return .success(token)
    }

    public func deletePolicy(_ id: String) -> Bool {
        guard store.policies[id] != nil, id != ACLPolicy.managementID else { return false }
        return write(.policy, id, [])
    }

    public func deleteToken(_ accessorID: String) -> Bool {
        guard store.tokens[accessorID] != nil else { return false }
        return write(.token, accessorID, [])
    }

    @discardableResult
    private func write(_ kind: ACLStore.Kind, _ id: String, _ body: [UInt8]) -> Bool {
        let held = store.entries["\(kind.rawValue):\(id)"]?.version ?? 0
        let entry = ACLStore.Entry(kind: kind, id: id, version: CatalogSync.nextVersion(after: held), writer: writer, body: body)
        guard store.apply(entry) else { return false }
        publish(entry)
        changed()
        return true
    }

    // MARK: - Replication

    /// An entry from the pool; true when it was news (to pass on).
    func receive(_ entry: ACLStore.Entry) -> Bool {
        guard store.apply(entry) else { return false }
        changed()
        return true
    }

    /// Everything, for a push/pull exchange.
    func payload() -> [UInt8] { ACLStore.encode(Array(store.entries.values)) }

    func merge(_ payload: [UInt8]) {
        do {
            var changed = false
            for entry in try ACLStore.decode(payload) where store.apply(entry) { changed = true }
            if changed { self.changed() }
        } catch {
            Log.warn("agent", "dropped ACL state from push/pull: \(error)")
        }
    }

    private func changed() {
        for observer in observers { observer() }
        guard let path else { return }
        DataFile.writeInBackground(path, payload(), what: "the ACL state")
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
    }
}
