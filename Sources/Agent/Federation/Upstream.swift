import JSON
import Sockets

/// A local port that carries TCP connections to a service, in this
/// datacenter or another: Consul's `Connect.SidecarService.Proxy.Upstreams`
/// entry, or `-upstream backend@dc2:9191`.
public struct Upstream: Sendable, Equatable {
    public var destination: String
    /// Empty: this agent's own datacenter.
    public var datacenter: String
    public var bindAddress: String
    public var bindPort: UInt16
    /// The service that declared it ("" for the flag form); it goes with it.
    public var owner: String

    public init(destination: String, datacenter: String = "", bindAddress: String = "127.0.0.1", bindPort: UInt16, owner: String = "") {
        self.destination = destination
        self.datacenter = datacenter
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.owner = owner
    }

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// `-upstream NAME[@DC]:PORT` (bound to 127.0.0.1).
    public static func parse(flag text: String) -> Upstream? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        let target = text[..<colon]
        let parts = target.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty, parts.count == 1 || !parts[1].isEmpty else { return nil }
        return Upstream(destination: String(name), datacenter: parts.count > 1 ? String(parts[1]).lowercased() : "", bindPort: port)
    }

    /// The upstreams a service definition declares, in Consul's shape:
    /// `Connect.SidecarService.Proxy.Upstreams[]` with `DestinationName`,
    /// `Datacenter`, `LocalBindAddress`, `LocalBindPort` (any key case).
    public static func parse(definition json: JSONValue, owner: String) -> Result<[Upstream], Invalid> {
        let list = json.value(forKeyIgnoringCaseAndUnderscores: "Connect")?
            .value(forKeyIgnoringCaseAndUnderscores: "SidecarService")?
            .value(forKeyIgnoringCaseAndUnderscores: "Proxy")?
            .value(forKeyIgnoringCaseAndUnderscores: "Upstreams")
        guard let list, !list.isNull else { return .success([]) }
        guard let entries = list.arrayValue else { return .failure(Invalid(description: "Upstreams must be a list")) }
        var upstreams: [Upstream] = []
        for entry in entries {
            switch parse(entry: entry, owner: owner) {
            case .success(let upstream): upstreams.append(upstream)
            case .failure(let error): return .failure(error)
            }
        }
        return .success(upstreams)
    }

    /// One `Upstreams[]` entry.
    public static func parse(entry: JSONValue, owner: String) -> Result<Upstream, Invalid> {
        guard let name = entry.value(forKeyIgnoringCaseAndUnderscores: "DestinationName")?.stringValue, !name.isEmpty else {
            return .failure(Invalid(description: "Upstream: missing DestinationName"))
        }
        guard let port = entry.value(forKeyIgnoringCaseAndUnderscores: "LocalBindPort")?.intValue, (1...65535).contains(port) else {
            return .failure(Invalid(description: "Upstream \(name): LocalBindPort must be a port number (1-65535)"))
        }
        let address = entry.value(forKeyIgnoringCaseAndUnderscores: "LocalBindAddress")?.stringValue ?? "127.0.0.1"
        guard address.isEmpty || IPAddress.parse(address) != nil else {
            return .failure(Invalid(description: "Upstream \(name): LocalBindAddress must be an IP address, not \(address)"))
        }
        let dc = entry.value(forKeyIgnoringCaseAndUnderscores: "Datacenter")?.stringValue ?? ""
        return .success(Upstream(destination: name, datacenter: dc.lowercased(), bindAddress: address.isEmpty ? "127.0.0.1" : address,
                                 bindPort: UInt16(port), owner: owner))
    }
}
