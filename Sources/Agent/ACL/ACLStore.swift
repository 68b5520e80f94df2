import JSON
import Sockets

/// A policy as Consul shows it.
public struct ACLPolicy: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description = ""
    public var rules = ""
    public var datacenters: [String] = []
    /// Parsed `rules` (checked when the policy is written).
    public var parsed = ACLRules()

    /// Consul's built-in policy of the management token.
    public static let managementID = "00000000-0000-0000-0000-000000000001"

    public init(id: String, name: String, description: String = "", rules: String = "", datacenters: [String] = [],
                parsed: ACLRules = ACLRules()) {
        self.id = id
        self.name = name
        self.description = description
        self.rules = rules
        self.datacenters = datacenters
        self.parsed = parsed
    }
}

/// A token as Consul shows it: the AccessorID names it, the SecretID is
/// what requests carry.
public struct ACLToken: Sendable, Equatable {
    public var accessorID: String
    public var secretID: String
    public var description = ""
    /// Policy IDs, in order.
    public var policies: [String] = []
    public var local = false
    /// RFC 3339, when it was created.
    public var createTime = ""

    /// Consul's anonymous token: what a request without a token is.
    public static let anonymousID = "00000000-0000-0000-0000-000000000002"

    public init(accessorID: String, secretID: String, description: String = "", policies: [String] = [], local: Bool = false,
                createTime: String = "") {
        self.accessorID = accessorID
        self.secretID = secretID
        self.description = description
        self.policies = policies
        self.local = local
        self.createTime = createTime
    }
}

/// The datacenter's ACL state, replicated to every agent: each policy,
/// token and the bootstrap marker is an entry versioned by the agent that
/// wrote it (at least the wall clock in ms), and a replica keeps the
/// highest version of each (ties broken by the writer's name), removals
/// included, so every agent converges on the same state whatever order
/// the gossip arrives in. Pure: fed entries, asked questions.
public struct ACLStore: Sendable {
    public enum Kind: UInt8, Sendable { case policy = 1, token = 2, bootstrap = 3 }

    public struct Entry: Sendable, Equatable {
        public var kind: Kind
        public var id: String
        public var version: UInt64
        public var writer: String
        /// The JSON of the policy or token; empty for a removal.
        public var body: [UInt8]

        public init(kind: Kind, id: String, version: UInt64, writer: String, body: [UInt8]) {
            self.kind = kind
            self.id = id
            self.version = version
            self.writer = writer
            self.body = body
        }
        var key: String { "\(kind.rawValue):\(id)" }
        public var isRemoval: Bool { body.isEmpty }
    }

    /// Bounds: what a replica holds and what one entry may weigh.
    public static let entryLimit = 4096
    public static let bodyLimit = 16 << 10

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var policies: [String: ACLPolicy] = [:]
    /// By AccessorID, and the AccessorID of each SecretID.
    public private(set) var tokens: [String: ACLToken] = [:]
    private var accessorBySecret: [String: String] = [:]
    /// Raised on every change (Consul's index of ACL reads).
    public private(set) var index: UInt64 = 1

    public init() {}

    public var isBootstrapped: Bool { entries["\(Kind.bootstrap.rawValue):bootstrap"].map { !$0.isRemoval } ?? false }
    public func token(secret: String) -> ACLToken? { accessorBySecret[secret].flatMap { tokens[$0] } }
    public func policy(named name: String) -> ACLPolicy? { policies.values.first { $0.name == name } }

    /// Keeps `entry` if it is newer than what we hold. Returns true when
    /// the store changed; false too for an entry that would pass a bound
    /// or whose body does not read (a peer's bug must not poison us).
    @discardableResult
    public mutating func apply(_ entry: Entry) -> Bool {
        if let held = entries[entry.key] {
            guard Catalog.Replica.supersedes(entry.version, entry.writer, held.version, held.writer), held != entry else { return false }
        } else if entries.count >= Self.entryLimit {
            return false
        }
        guard entry.body.count <= Self.bodyLimit else { return false }
        switch entry.kind {
        case .policy:
            let policy = entry.isRemoval ? nil : Self.decodePolicy(entry.body)
            if !entry.isRemoval && policy == nil { return false }
            policies[entry.id] = policy
        case .token:
            let token = entry.isRemoval ? nil : Self.decodeToken(entry.body)
            if !entry.isRemoval && token == nil { return false }
            if let old = tokens[entry.id] { accessorBySecret[old.secretID] = nil }
            tokens[entry.id] = token
            if let token { accessorBySecret[token.secretID] = token.accessorID }
        case .bootstrap:
            break
        }
        entries[entry.key] = entry
        index += 1
        return true
    }

    // MARK: - Bodies (Consul's JSON field names)

    public static func encode(_ p: ACLPolicy) -> [UInt8] {
        var w = JSONWriter(pretty: false)
        w.beginObject()
        w.field("ID", p.id)
        w.field("Name", p.name)
        w.field("Description", p.description)
        w.field("Rules", p.rules)
        w.key("Datacenters")
        w.beginArray()
        for dc in p.datacenters { w.string(dc) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    public static func encode(_ t: ACLToken) -> [UInt8] {
        var w = JSONWriter(pretty: false)
        w.beginObject()
        w.field("AccessorID", t.accessorID)
        w.field("SecretID", t.secretID)
        w.field("Description", t.description)
        w.key("Policies")
        w.beginArray()
        for id in t.policies { w.string(id) }
        w.endArray()
        w.field("Local", t.local)
        w.field("CreateTime", t.createTime)
        w.endObject()
        return w.bytes
    }

    static func decodePolicy(_ body: [UInt8]) -> ACLPolicy? {
        guard let v = try? JSONValue.parse(body), let id = v["ID"]?.stringValue, let name = v["Name"]?.stringValue,
              let rules = v["Rules"]?.stringValue else { return nil }
        // The management policy's rules are not a language: it is all.
        let parsed: ACLRules
        if id == ACLPolicy.managementID {
            parsed = ACLRules()
        } else {
            guard let p = try? ACLRules.parse(rules) else { return nil }
            parsed = p
        }
        return ACLPolicy(id: id, name: name, description: v["Description"]?.stringValue ?? "", rules: rules,
                         datacenters: v["Datacenters"]?.arrayValue?.compactMap(\.stringValue) ?? [], parsed: parsed)
    }

    static func decodeToken(_ body: [UInt8]) -> ACLToken? {
        guard let v = try? JSONValue.parse(body), let accessor = v["AccessorID"]?.stringValue,
              let secret = v["SecretID"]?.stringValue, !secret.isEmpty else { return nil }
        return ACLToken(accessorID: accessor, secretID: secret, description: v["Description"]?.stringValue ?? "",
                        policies: v["Policies"]?.arrayValue?.compactMap(\.stringValue) ?? [], local: v["Local"]?.boolValue ?? false,
                        createTime: v["CreateTime"]?.stringValue ?? "")
    }

    // MARK: - Wire form (push/pull, gossip, the data directory)

    public static func encode(_ entries: [Entry]) -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.string16(e.id)
            w.u64(e.version)
            w.string16(e.writer)
            w.blob32(e.body)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> [Entry] {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw .invalid("unknown ACL state format") }
        let count = Int(try r.u32())
        // An entry takes at least 17 bytes (kind, two empty strings, version,
        // an empty body): a bound before allocating.
        guard count <= entryLimit, count <= r.remaining / 17 else { throw .invalid("ACL entry count exceeds payload") }
        var out: [Entry] = []
        for _ in 0..<count {
            guard let kind = Kind(rawValue: try r.u8()) else { throw .invalid("unknown ACL entry kind") }
            let id = try r.string16(), version = try r.u64(), writer = try r.string16()
            let body = try r.blob32()
            guard body.count <= bodyLimit else { throw .invalid("ACL entry body over \(bodyLimit) bytes") }
            out.append(Entry(kind: kind, id: id, version: version, writer: writer, body: body))
        }
        return out
    }
}
