import Crypto
import JSON
import Membership
import Sockets

/// Everything an agent needs to start, validated. Built from defaults, then
/// JSON configuration files with Consul's keys (`-config-dir`, `-config-file`,
/// in order), then flags, each source winning over the ones before it.
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
    /// A second domain answered like `domain` (`alt_domain`).
    public var altDomain: String?
    /// Upstream DNS servers for names outside the domains, "ip" or
    /// "ip:port" (port 53 by default), tried in order.
    public var recursors: [String] = []
    /// `-upstream NAME[@DC]:PORT`: local ports carried to a service.
    public var upstreams: [Upstream] = []
    public var logLevel: Log.Level = .info
    /// `ui_config.enabled` / `-ui`: the web UI at /ui/.
    public var uiEnabled = false
    /// `log_json`: JSON log lines.
    public var logJSON = false
    /// The gossip key (`-encrypt`, `encrypt`): the first key of both
    /// keyrings when `-data-dir` holds none yet.
    public var encryptKey: AESGCM.Key?
    /// `encrypt_verify_incoming`: refuse plaintext gossip (default on).
    public var encryptVerifyIncoming = true
    /// `encrypt_verify_outgoing`: seal what is sent (default on).
    public var encryptVerifyOutgoing = true
    /// TLS on the server port and the HTTPS API (`tls`, `-ca-file`, ...).
    public var tls = TLSSettings()
    /// ACL tokens (`acl`).
    public var acl = ACLSettings()
    /// `ports.https` / `-https-port`: the HTTPS API (off when nil; 8501 by convention).
    public var httpsPort: UInt16?
    /// Consul `services`/`service` definitions from configuration files, raw:
    /// one JSON object per service, in file order.
    public var serviceDefinitions: [JSONValue] = []
    /// Consul `checks`/`check` definitions from configuration files, raw.
    public var checkDefinitions: [JSONValue] = []
    /// Script checks run a program chosen by whoever registers the check:
    /// through the HTTP API that is remote code execution, so both are off
    /// unless configured. `enableLocalScriptChecks` allows them only from
    /// configuration files.
    public var enableScriptChecks = false
    public var enableLocalScriptChecks = false
    /// Consul's `disable_coordinates`: no network coordinates (no `?near=`
    /// order, no `rtt`), and none of their bytes in the probes.
    public var disableCoordinates = false
    /// Consul's `dns_config`.
    public var dns = DNSSettings()
    /// Consul's `telemetry`.
    public var telemetry = TelemetrySettings()
    /// Problems worth reporting that did not stop the agent (unknown keys in
    /// configuration files), one line each.
    public var warnings: [String] = []

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
        .init("config-file", .list, "JSON configuration file with Consul's keys; flags win over files."),
        .init("config-dir", .list, "Directory whose *.json files are loaded in lexical order (before -config-file)."),
        .init("encrypt", .string, "Gossip encryption key: base64 of 16, 24 or 32 bytes (fedagent keygen)."),
        .init("https-port", .string, "HTTPS API port (off by default; 8501 by convention). Needs -cert-file and -key-file."),
        .init("ca-file", .string, "PEM file of the CA that TLS peers' certificates must chain to (tls.defaults.ca_file)."),
        .init("cert-file", .string, "PEM certificate this agent presents on TLS connections (tls.defaults.cert_file)."),
        .init("key-file", .string, "PEM private key of -cert-file (tls.defaults.key_file)."),
        .init("verify-incoming", .bool, "Clients of the server port and HTTPS API must present a certificate of -ca-file."),
        .init("verify-outgoing", .bool, "Dial servers with TLS and check their certificate chain."),
        .init("verify-server-hostname", .bool, "Servers must prove server.<dc>.<domain> (implies -verify-outgoing)."),
        .init("domain", .string, "DNS domain (default consul.)."),
        .init("alt-domain", .string, "A second DNS domain answered like -domain."),
        .init("recursor", .list, "Upstream DNS server (ip or ip:port) for names outside the domain."),
        .init("upstream", .list, "NAME[@DC]:PORT: 127.0.0.1:PORT carries TCP connections to service NAME (in DC)."),
        .init("log-level", .string, "trace, debug, info, warn or err (default info)."),
        .init("ui", .bool, "Serve the web UI at /ui/ (on with -dev; ui_config.enabled in files)."),
        .init("log-json", .bool, "Log one JSON object per line (hclog's keys), for log shippers."),
        .init("enable-script-checks", .bool, "Allow script checks from the HTTP API and files (remote code execution: off by default)."),
        .init("enable-local-script-checks", .bool, "Allow script checks from configuration files only."),
    ]

    /// Builds and validates a configuration: defaults (`-dev` changes some),
    /// then the `*.json` files of every `-config-dir`, then every
    /// `-config-file`, then the other flags. Scalars from a later source
    /// replace earlier ones; lists (`retry_join`, `services`, `checks`)
    /// append, as in Consul. Unknown file keys end up in `warnings`.
    public static func from(_ flags: CommandLineFlags, hostName: String) throws(CommandLineFlags.ParseError) -> AgentConfig {
        func fail(_ message: String) -> CommandLineFlags.ParseError { CommandLineFlags.ParseError(description: message) }
        var c = AgentConfig(nodeName: hostName)
        if flags.bool("dev") {
            c.dev = true
            c.uiEnabled = true
            c.server = true
            c.bindAddress = "127.0.0.1"
        }
        do throws(ConfigFile.Failure) {
            var files: [String] = []
            for dir in flags.list("config-dir") { files += try ConfigFile.jsonFiles(inDirectory: dir) }
            files += flags.list("config-file")
            let warnings = try ConfigFile.apply(files: files, to: &c)
            c.warnings = warnings
        } catch {
            throw fail(error.description)
        }

        if flags.has("server") { c.server = flags.bool("server") }
        if flags.has("enable-script-checks") { c.enableScriptChecks = flags.bool("enable-script-checks") }
        if flags.has("enable-local-script-checks") { c.enableLocalScriptChecks = flags.bool("enable-local-script-checks") }
        if let v = flags.string("node") { c.nodeName = v }
        if let v = flags.string("datacenter") { c.datacenter = v.lowercased() }
        if let v = flags.string("bind") { c.bindAddress = v }
        if let v = flags.string("advertise") { c.advertiseAddress = v }
        if let v = flags.string("advertise-wan") { c.advertiseWANAddress = v }
        if let v = flags.string("serf-lan-bind") { c.serfLANBind = v }
        if let v = flags.string("serf-wan-bind") { c.serfWANBind = v }
        if let v = flags.string("client") { c.clientAddress = v }
        c.httpPort = try flags.port("http-port", default: c.httpPort)
        c.dnsPort = try flags.port("dns-port", default: c.dnsPort, allowZero: true)
        c.serfLANPort = try flags.port("serf-lan-port", default: c.serfLANPort)
        c.serfWANPort = try flags.port("serf-wan-port", default: c.serfWANPort)
        c.serverPort = try flags.port("server-port", default: c.serverPort)
        c.retryJoin += flags.list("retry-join")
        c.retryJoinWAN += flags.list("retry-join-wan")
        if let v = flags.string("data-dir") { c.dataDir = v }
        if let v = flags.string("domain") { c.domain = v.hasSuffix(".") ? v : v + "." }
        if let v = flags.string("alt-domain") { c.altDomain = v.hasSuffix(".") ? v : v + "." }
        c.recursors += flags.list("recursor")
        for text in flags.list("upstream") {
            guard let upstream = Upstream.parse(flag: text) else {
                throw fail("invalid value \"\(text)\" for -upstream: want NAME[@DC]:PORT")
            }
            c.upstreams.append(upstream)
        }
        if flags.has("log-json") { c.logJSON = flags.bool("log-json") }
        if flags.has("ui") { c.uiEnabled = flags.bool("ui") }
        if let v = flags.string("log-level") {
            guard let level = Log.Level(name: v) else { throw fail("invalid value \"\(v)\" for -log-level") }
            c.logLevel = level
        }
        if let v = flags.string("encrypt") {
            switch Keyring.parseKey(v) {
            case .success(let key): c.encryptKey = key
            case .failure(let error): throw fail("invalid value for -encrypt: \(error)")
            }
        }

        if let v = flags.string("https-port") {
            let port = v == "-1" ? 0 : try flags.port("https-port", default: 0, allowZero: true)
            c.httpsPort = port == 0 ? nil : port
        }
        if let v = flags.string("ca-file") { c.tls.caFile = v }
        if let v = flags.string("cert-file") { c.tls.certFile = v }
        if let v = flags.string("key-file") { c.tls.keyFile = v }
        if flags.has("verify-incoming") { c.tls.verifyIncoming = flags.bool("verify-incoming") }
        if flags.has("verify-outgoing") { c.tls.verifyOutgoing = flags.bool("verify-outgoing") }
        if flags.has("verify-server-hostname") { c.tls.verifyServerHostname = flags.bool("verify-server-hostname") }

        // Validate the merged result, naming the flag or file key that set a bad value.
        func source(_ flag: String, _ key: String) -> String { flags.has(flag) ? "-\(flag)" : "\"\(key)\" (config file)" }
        guard isValidNodeName(c.nodeName) else {
            throw fail("invalid node name \"\(c.nodeName)\": use 1-63 letters, digits and dashes")
        }
        guard isValidNodeName(c.datacenter) else { throw fail("invalid datacenter \"\(c.datacenter)\"") }
        for (flag, key, value) in [("domain", "domain", c.domain), ("alt-domain", "alt_domain", c.altDomain)] {
            guard let value, !isValidDomain(value) else { continue }
            throw fail("invalid value \"\(value)\" for \(source(flag, key)): not a domain name")
        }
        if let problem = c.tls.problem(server: c.server, httpsPort: c.httpsPort) { throw fail("tls: \(problem)") }
        for recursor in c.recursors where Endpoint(parsing: recursor, defaultPort: 53) == nil {
            throw fail("invalid value \"\(recursor)\" for \(source("recursor", "recursors")): want ip or ip:port")
        }
        let addresses: [(String, String, String?)] = [
            ("bind", "bind_addr", c.bindAddress), ("client", "client_addr", c.clientAddress),
            ("advertise", "advertise_addr", c.advertiseAddress), ("advertise-wan", "advertise_addr_wan", c.advertiseWANAddress),
            ("serf-lan-bind", "serf_lan", c.serfLANBind), ("serf-wan-bind", "serf_wan", c.serfWANBind),
        ]
        for (flag, key, value) in addresses {
            guard let value else { continue }
            guard let ip = IPAddress.parse(value) else {
                throw fail("invalid value \"\(value)\" for \(source(flag, key)): not an IP address")
            }
            if flag.hasPrefix("advertise"), ip.allSatisfy({ $0 == 0 }) {
                throw fail("\(source(flag, key)) must be a reachable address, not \(value)")
            }
        }
        return c
    }

    /// A DNS domain such as "consul." (labels of 1-63 bytes, at most 253 in all).
    public static func isValidDomain(_ domain: String) -> Bool {
        let labels = domain.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).dropLast()
        return domain.hasSuffix(".") && !labels.isEmpty && domain.utf8.count <= 254
            && labels.allSatisfy { !$0.isEmpty && $0.count <= 63 }
    }

    /// Node names become DNS labels (`name.node.consul`), so keep them to one label.
    public static func isValidNodeName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 63 else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        }
    }
}

/// Consul's `dns_config` settings, with Consul's defaults (except
/// `enable_truncate`, on by default here).
public struct DNSSettings: Sendable, Equatable {
    /// Answer only with instances whose checks all pass (not warning).
    public var onlyPassing = false
    /// TTL of node answers, a Go duration string (validated).
    public var nodeTTL = "0s"
    /// TTL of service answers (`service_ttl`'s `"*"` entry), a Go duration string.
    public var serviceTTL = "0s"
    /// Per-service TTLs from `service_ttl` (every entry but `"*"`).
    public var serviceTTLByName: [String: String] = [:]
    /// Most A/AAAA records in a UDP answer.
    public var udpAnswerLimit = 3
    /// Most A/AAAA records in any answer; 0 means no limit.
    public var aRecordLimit = 0
    /// Set the TC bit when a UDP answer was cut short.
    public var enableTruncate = true
    /// `soa.min_ttl`: the negative-caching TTL in SOA records.
    public var soaMinTTL = 0
    /// How long a forwarded query waits for each recursor, a Go duration.
    public var recursorTimeout = "2s"

    public init() {}
}
