import Agent

/// The DNS responder's settings, resolved once from the agent's config.
public struct DNSResponderSettings: Sendable {
    /// `-domain` first, then `alt_domain`.
    public var domains: [DNSName]
    public var nodeTTL: UInt32 = 0
    public var serviceTTL: UInt32 = 0
    /// Folded service name → TTL (`service_ttl` entries other than "*").
    public var serviceTTLByName: [[UInt8]: UInt32] = [:]
    public var onlyPassing = false
    public var udpAnswerLimit = 3
    public var aRecordLimit = 0
    public var enableTruncate = true
    public var soaMinTTL: UInt32 = 0
    /// Recursors are configured: names outside the domains are forwarded.
    public var recursionAvailable = false
    /// Names in other datacenters are sent there (WAN federation); when
    /// false they are NXDOMAIN.
    public var federated = false
    /// The largest UDP answer we send, whatever a client offers (EDNS0).
    public var maxUDPSize = 4096

    /// Consul never lets udp_answer_limit go past this.
    static let udpAnswerCeiling = 8

    /// Consul's default domain, `consul.`.
    public static let defaultDomain = DNSName(trustedWire: [6] + Array("consul".utf8) + [0])

    public init(domain: DNSName = defaultDomain) { domains = [domain] }

    public init(config: AgentConfig) {
        self.init(domain: DNSName(config.domain) ?? Self.defaultDomain)
        if let alt = config.altDomain.flatMap(DNSName.init), alt != domains[0] { domains.append(alt) }
        let d = config.dns
        nodeTTL = Self.seconds(d.nodeTTL)
        serviceTTL = Self.seconds(d.serviceTTL)
        for (name, ttl) in d.serviceTTLByName { serviceTTLByName[DNSSnapshot.fold(Array(name.utf8)[...])] = Self.seconds(ttl) }
        onlyPassing = d.onlyPassing
        udpAnswerLimit = d.udpAnswerLimit
        aRecordLimit = d.aRecordLimit
        enableTruncate = d.enableTruncate
        soaMinTTL = UInt32(clamping: d.soaMinTTL)
        recursionAvailable = !config.recursors.isEmpty
        federated = true
    }

    static func seconds(_ goDuration: String) -> UInt32 {
        guard let d = GoDuration.parse(goDuration) else { return 0 }
        return UInt32(clamping: d.components.seconds)
    }

    func ttl(forService folded: [UInt8]) -> UInt32 {
        serviceTTLByName.isEmpty ? serviceTTL : serviceTTLByName[folded] ?? serviceTTL
    }
}
