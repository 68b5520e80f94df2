import Filter
import Sockets

/// A Consul user event (`consul event`, `PUT /v1/event/fire/:name`): a
/// name, an opaque payload and optional filters saying which agents
/// should take it. Gossiped through the LAN pool, kept by each agent the
/// filters pick, never stored by the servers.
public struct UserEvent: Equatable, Sendable {
    public var id: String
    public var name: String
    public var payload: [UInt8]
    /// Regular expressions (Go's RE2 syntax, unanchored as `MatchString`):
    /// the node name, a local service's name, one of its tags.
    public var nodeFilter: String
    public var serviceFilter: String
    public var tagFilter: String
    public var version: Int = 1
    /// The Lamport time the firing agent gave it.
    public var ltime: UInt64 = 0

    public init(id: String, name: String, payload: [UInt8] = [], nodeFilter: String = "",
                serviceFilter: String = "", tagFilter: String = "", ltime: UInt64 = 0) {
        self.id = id
        self.name = name
        self.payload = payload
        self.nodeFilter = nodeFilter
        self.serviceFilter = serviceFilter
        self.tagFilter = tagFilter
        self.ltime = ltime
    }

    /// Serf's default `UserEventSizeLimit`: the whole encoded event (name,
    /// filters, payload) must fit, so it travels in one gossip packet.
    public static let sizeLimit = 512

    /// Why the event cannot be fired, in Consul's words where it has them.
    public func validationError() -> String? {
        if name.isEmpty { return "User event missing name" }
        if !tagFilter.isEmpty && serviceFilter.isEmpty { return "Cannot provide tag filter without service filter" }
        for (what, pattern) in [("node", nodeFilter), ("service", serviceFilter), ("tag", tagFilter)] where !pattern.isEmpty {
            do throws(LinearRegex.Failure) {
                _ = try LinearRegex(pattern)
            } catch {
                return "Invalid \(what) filter: \(error)"
            }
        }
        let size = encoded().count
        if size > Self.sizeLimit {
            return "User event exceeds the limit of \(Self.sizeLimit) bytes (name, filters and payload): \(size) bytes"
        }
        return nil
    }

    /// Whether this agent takes the event (Consul's shouldProcessUserEvent):
    /// the node filter matches its name, and when a service filter is
    /// given, one of its services matches it (and one of that service's
    /// tags the tag filter). A filter that does not compile matches nothing.
    public func isFor(node: String, services: [(name: String, tags: [String])]) -> Bool {
        func regex(_ pattern: String) -> LinearRegex? { try? LinearRegex(pattern) }
        if !nodeFilter.isEmpty {
            guard let re = regex(nodeFilter), re.matches(node) else { return false }
        }
        guard !serviceFilter.isEmpty else { return true }
        guard let serviceRE = regex(serviceFilter) else { return false }
        let tagRE = tagFilter.isEmpty ? nil : regex(tagFilter)
        if !tagFilter.isEmpty && tagRE == nil { return false }
        return services.contains { service in
            guard serviceRE.matches(service.name) else { return false }
            guard let tagRE else { return true }
            return service.tags.contains { tagRE.matches($0) }
        }
    }

    // MARK: - Wire form

    static let wireVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + name.utf8.count + payload.count)
        w.u8(Self.wireVersion)
        w.string16(id)
        w.string16(name)
        w.blob16(payload)
        w.string16(nodeFilter)
        w.string16(serviceFilter)
        w.string16(tagFilter)
        w.u64(ltime)
        return w.bytes
    }

    /// Reads an event as gossiped; anything malformed, oversized or of an
    /// unknown version is an error.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> UserEvent {
        guard bytes.count <= sizeLimit else { throw .invalid("user event larger than \(sizeLimit) bytes") }
        var r = ByteReader(bytes)
        guard try r.u8() == wireVersion else { throw .invalid("unknown user event version") }
        let id = try r.string16(), name = try r.string16(), payload = try r.blob16()
        let node = try r.string16(), service = try r.string16(), tag = try r.string16()
        let ltime = try r.u64()
        guard r.isAtEnd else { throw .invalid("trailing bytes after a user event") }
        guard !id.isEmpty, !name.isEmpty else { throw .invalid("user event without id or name") }
        return UserEvent(id: id, name: name, payload: payload, nodeFilter: node, serviceFilter: service,
                         tagFilter: tag, ltime: ltime)
    }
}
