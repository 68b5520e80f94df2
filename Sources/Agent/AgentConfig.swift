import Sockets

/// Everything an agent needs to start, validated. Built from flags now;
/// configuration files (same keys as Consul's) come later and flags win.
public struct AgentConfig: Sendable {
    public var nodeName: String
    public var datacenter = "dc1"
    public var server = false
    public var dev = false
    /// Gossip and RPC bind address (`-bind`; may be 0.0.0.0).
    public var bindAddress = "0.0.0.0"
    /// Address advertised to the LAN pool; derived from the bind address if unset.
    public var advertiseAddress: String?
    public var advertiseWANAddress: String?
    public var serfLANBind: String?
    public var serfWANBind: String?
    /// HTTP and DNS bind address (`-client`).
    public var clientAddress = "127.0.0.1"
    public var httpPort: UInt16 = 8500
    public var dnsPort: UInt16 = 8600
    public var serfLANPort: UInt16 = 8301
    public var serfWANPort: UInt16 = 8302
    public var serverPort: UInt16 = 8300
    public var retryJoin: [String] = []
    public var retryJoinWAN: [String] = []
    public var dataDir: String?
    public var domain = "consul."
    public var logLevel: Log.Level = .info

    public init(nodeName: String) { self.nodeName = nodeName }

    /// The flags of `fedagent agent`.
    public static let flagSpecs: [CommandLineFlags.Spec] = [
        .init("dev", .bool, "Development mode: a one-node datacenter, server, everything on 127.0.0.1."),
        .init("server", .bool, "Run as a server: gateway peer of the datacenter (shown as role consul)."),
        .init("node", .string, "Node name (default: the host name)."),
        .init("datacenter", .string, "Datacenter name (default dc1)."),
        .init("bind", .string, "Address gossip binds to (default 0.0.0.0)."),
        .init("advertise", .string, "Address advertised to the LAN pool."),
        .init("advertise-wan", .string, "Address advertised to the WAN pool."),
        .init("serf-lan-bind", .string, "Address LAN gossip binds to (default: -bind)."),
        .init("serf-wan-bind", .string, "Address WAN gossip binds to (default: -bind)."),
        .init("client", .string, "Address HTTP and DNS bind to (default 127.0.0.1)."),
        .init("http-port", .string, "HTTP API port (default 8500)."),
        .init("dns-port", .string, "DNS port (default 8600)."),
        .init("serf-lan-port", .string, "LAN gossip port, UDP and TCP (default 8301)."),
        .init("serf-wan-port", .string, "WAN gossip port, UDP and TCP (default 8302)."),
        .init("server-port", .string, "Server RPC port (default 8300)."),
        .init("retry-join", .list, "Address of a LAN member to join, retried with backoff."),
        .init("retry-join-wan", .list, "Address of a WAN server to join, retried with backoff."),
        .init("data-dir", .string, "Directory for the agent's state (its node ID)."),
        .init("config-file", .list, "JSON configuration file."),
        .init("encrypt", .string, "Gossip encryption key."),
        .init("domain", .string, "DNS domain (default consul.)."),
        .init("log-level", .string, "trace, debug, info, warn or err (default info)."),
    ]

    /// Builds and validates a configuration from `fedagent agent` flags.
    public static func from(_ flags: CommandLineFlags, hostName: String) throws(CommandLineFlags.ParseError) -> AgentConfig {
        func fail(_ message: String) -> CommandLineFlags.ParseError { CommandLineFlags.ParseError(description: message) }
        var c = AgentConfig(nodeName: hostName)
        if flags.bool("dev") {
            c.dev = true
            c.server = true
            c.bindAddress = "127.0.0.1"
        }
        if flags.has("server") { c.server = flags.bool("server") }
        if let v = flags.string("node") { c.nodeName = v }
        if let v = flags.string("datacenter") { c.datacenter = v.lowercased() }
        if let v = flags.string("bind") { c.bindAddress = v }
        c.advertiseAddress = flags.string("advertise")
        c.advertiseWANAddress = flags.string("advertise-wan")
        c.serfLANBind = flags.string("serf-lan-bind")
        c.serfWANBind = flags.string("serf-wan-bind")
        if let v = flags.string("client") { c.clientAddress = v }
        c.httpPort = try flags.port("http-port", default: c.httpPort)
        c.dnsPort = try flags.port("dns-port", default: c.dnsPort, allowZero: true)
        c.serfLANPort = try flags.port("serf-lan-port", default: c.serfLANPort)
        c.serfWANPort = try flags.port("serf-wan-port", default: c.serfWANPort)
        c.serverPort = try flags.port("server-port", default: c.serverPort)
        c.retryJoin = flags.list("retry-join")
        c.retryJoinWAN = flags.list("retry-join-wan")
        c.dataDir = flags.string("data-dir")
        if let v = flags.string("domain") { c.domain = v.hasSuffix(".") ? v : v + "." }
        if let v = flags.string("log-level") {
            guard let level = Log.Level(name: v) else { throw fail("invalid value \"\(v)\" for -log-level") }
            c.logLevel = level
        }
        if flags.has("encrypt") { throw fail("-encrypt: gossip encryption is not supported yet") }
        if !flags.list("config-file").isEmpty { throw fail("-config-file: configuration files are not supported yet") }

        guard isValidNodeName(c.nodeName) else {
            throw fail("invalid node name \"\(c.nodeName)\": use 1-63 letters, digits and dashes")
        }
        guard isValidNodeName(c.datacenter) else { throw fail("invalid datacenter \"\(c.datacenter)\"") }
        for (flag, value) in [("bind", c.bindAddress), ("client", c.clientAddress)] + [
            ("advertise", c.advertiseAddress), ("advertise-wan", c.advertiseWANAddress),
            ("serf-lan-bind", c.serfLANBind), ("serf-wan-bind", c.serfWANBind),
        ].compactMap({ f, v in v.map { (f, $0) } }) {
            guard IPAddress.parse(value) != nil else { throw fail("invalid value \"\(value)\" for -\(flag): not an IP address") }
        }
        if let adv = c.advertiseAddress, IPAddress.parse(adv)?.allSatisfy({ $0 == 0 }) == true {
            throw fail("-advertise must be a reachable address, not \(adv)")
        }
        return c
    }

    /// Node names become DNS labels (`name.node.consul`), so keep them to one label.
    public static func isValidNodeName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 63 else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        }
    }
}
