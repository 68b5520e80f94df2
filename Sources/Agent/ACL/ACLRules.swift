import JSON

/// What a rule grants on a resource, in Consul's words. Ordered by the
/// precedence two rules at the same name merge with: deny beats write
/// beats list beats read (Consul's policy merger).
public enum ACLAccess: Int, Comparable, Sendable, CustomStringConvertible {
    case read = 1, list = 2, write = 3, deny = 4

    public init?(name: String) {
        switch name {
        case "read": self = .read
        case "list": self = .list
        case "write": self = .write
        case "deny": self = .deny
        default: return nil
        }
    }

    public static func < (a: ACLAccess, b: ACLAccess) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["", "read", "list", "write", "deny"][rawValue] }

    /// Whether a rule granting `self` allows an operation needing `needed`.
    func grants(_ needed: ACLAccess) -> Bool {
        switch self {
        case .deny: return false
        case .write: return true
        case .list: return needed == .read || needed == .list
        case .read: return needed == .read
        }
    }
}

/// The resources fedagent's policies speak of. Named ones have exact
/// (`service "web"`) and prefix (`service_prefix "web"`) rules; the rest
/// take one value (`operator = "read"`).
public enum ACLResource: String, Sendable, CaseIterable {
    case service, node, key, agent, session, query, event
    case `operator`, keyring, acl

    public var isNamed: Bool { ![.`operator`, .keyring, .acl].contains(self) }
}

/// One policy's rules, or several merged (a token's): for each named
/// resource the exact and the prefix rules, for the others one access.
public struct ACLRules: Sendable, Equatable {
    public var exact: [ACLResource: [String: ACLAccess]] = [:]
    public var prefix: [ACLResource: [String: ACLAccess]] = [:]
    public var single: [ACLResource: ACLAccess] = [:]

    public init() {}

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Consul's rule language, in HCL (the subset policies use) or JSON.
    public static func parse(_ text: String) throws(Failure) -> ACLRules {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        let document: JSONValue
        if trimmed.first == "{" {
            do {
                document = try JSONValue.parse(Array(text.utf8))
            } catch {
                throw Failure(description: "rules: invalid JSON: \(error.description)")
            }
        } else {
            do {
                document = try HCLRules.parse(text)
            } catch {
                throw Failure(description: error.description)
            }
        }
        return try interpret(document)
    }

    static func interpret(_ document: JSONValue) throws(Failure) -> ACLRules {
        guard let members = document.objectValue else { throw Failure(description: "rules must be an object") }
        var rules = ACLRules()
        for (key, value) in members {
            let isPrefix = key.hasSuffix("_prefix")
            let base = isPrefix ? String(key.dropLast("_prefix".count)) : key
            guard let resource = ACLResource(rawValue: base), resource.isNamed || !isPrefix else {
                throw Failure(description: "rules: unknown resource \"\(key)\"")
            }
            guard resource.isNamed else {
                guard let text = value.stringValue, let access = ACLAccess(name: text), access != .list else {
                    throw Failure(description: "rules: \(key) must be \"read\", \"write\" or \"deny\"")
                }
                rules.single[resource] = access
                continue
            }
            guard let entries = value.objectValue else { throw Failure(description: "rules: \(key) takes names with a policy each") }
            for (name, body) in entries {
                guard let text = body["policy"]?.stringValue, let access = ACLAccess(name: text) else {
                    throw Failure(description: "rules: \(key) \"\(name)\" needs policy = \"read\", \"write\" or \"deny\"")
                }
                if access == .list && resource != .key { throw Failure(description: "rules: \"list\" applies to key rules only") }
                // Other fields of a rule (`intentions`) are kept for later issues, not refused.
                if isPrefix { rules.prefix[resource, default: [:]][name] = access } else { rules.exact[resource, default: [:]][name] = access }
            }
        }
        return rules
    }

    /// Both sets of rules; at the same name the higher precedence wins.
    public func merged(with other: ACLRules) -> ACLRules {
        var out = self
        for (resource, names) in other.exact { out.exact[resource, default: [:]].merge(names, uniquingKeysWith: max) }
        for (resource, names) in other.prefix { out.prefix[resource, default: [:]].merge(names, uniquingKeysWith: max) }
        out.single.merge(other.single, uniquingKeysWith: max)
        return out
    }

    /// The rule that decides `name`: an exact rule, else the longest
    /// matching prefix; nil when none matches (the default policy decides).
    public func access(_ resource: ACLResource, _ name: String) -> ACLAccess? {
        guard resource.isNamed else { return single[resource] }
        if let access = exact[resource]?[name] { return access }
        var best: (length: Int, access: ACLAccess)?
        for (prefix, access) in prefix[resource] ?? [:] where name.hasPrefix(prefix) {
            let length = prefix.utf8.count
            if best == nil || length > best!.length || (length == best!.length && access > best!.access) { best = (length, access) }
        }
        return best?.access
    }
}

/// What a request's token may do: its policies' rules over the default
/// policy, or everything (the management token).
public struct ACLAuthorizer: Sendable {
    public let rules: ACLRules
    public let defaultAllow: Bool
    public let isManagement: Bool

    public init(rules: ACLRules, defaultAllow: Bool, isManagement: Bool = false) {
        self.rules = rules
        self.defaultAllow = defaultAllow
        self.isManagement = isManagement
    }

    public static let management = ACLAuthorizer(rules: ACLRules(), defaultAllow: true, isManagement: true)

    public func allows(_ resource: ACLResource, _ name: String = "", _ needed: ACLAccess) -> Bool {
        if isManagement { return true }
        guard let access = rules.access(resource, name) else { return defaultAllow }
        return access.grants(needed)
    }

    /// The catalog as this token may read it (Consul's filtering): nodes
    /// it may read (when `nodes` matter to the answer), and of each the
    /// services it may read and their checks (node checks need the node).
    /// `filtered`: whether anything was left out.
    public func filter(_ records: some Sequence<Catalog.NodeRecord>, nodes: Bool = true) -> (records: [Catalog.NodeRecord], filtered: Bool) {
        var out: [Catalog.NodeRecord] = []
        var filtered = false
        for var r in records {
            if nodes && !allows(.node, r.node, .read) {
                filtered = true
                continue
            }
            let services = r.services.filter { allows(.service, $0.name, .read) }
            let checks = r.checks.filter { $0.serviceName.isEmpty ? (!nodes || allows(.node, r.node, .read)) : allows(.service, $0.serviceName, .read) }
            if services.count != r.services.count || checks.count != r.checks.count { filtered = true }
            r.services = services
            r.checks = checks
            out.append(r)
        }
        return (out, filtered)
    }
}
