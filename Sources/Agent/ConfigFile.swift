import Glibc
import JSON
import Membership
import Sockets

/// Consul's JSON configuration files (`-config-file`, `-config-dir`).
///
/// Each file is one JSON object with Consul's snake_case keys. Files apply
/// in order on top of an `AgentConfig`: a scalar from a later file replaces
/// an earlier one, lists (`retry_join`, `services`, `checks`) append. Unknown
/// keys become warnings (`config file F: unknown key "x.y" ignored`); a value
/// of the wrong type or out of range is a one-line `Failure` naming the file
/// and the key path. HCL is not supported.
public enum ConfigFile {
    /// Larger files are refused rather than read.
    public static let sizeLimit = 4 << 20

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Applies `paths` in order on top of `config`; returns the warnings.
    public static func apply(files paths: [String], to config: inout AgentConfig) throws(Failure) -> [String] {
        var warnings: [String] = []
        for path in paths { warnings += try apply(file: path, to: &config) }
        return warnings
    }

    /// Applies one file on top of `config`; returns its warnings.
    public static func apply(file path: String, to config: inout AgentConfig) throws(Failure) -> [String] {
        try apply(json: try load(path), file: path, to: &config)
    }

    /// Applies an already parsed document as if it came from `file`.
    public static func apply(json document: JSONValue, file: String, to config: inout AgentConfig) throws(Failure) -> [String] {
        var reader = Reader(file: file)
        try reader.apply(document, to: &config)
        return reader.warnings
    }

    /// The `*.json` (and, to refuse them clearly, `*.hcl`) regular files
    /// directly inside `directory`, in lexical (byte) order, as Consul loads them.
    /// Symbolic links are followed, so Kubernetes ConfigMap mounts work.
    public static func jsonFiles(inDirectory directory: String) throws(Failure) -> [String] {
        guard let handle = opendir(directory) else {
            throw Failure(description: "config dir \(directory): \(errnoText())")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasSuffix(".json") || name.hasSuffix(".hcl") else { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            names.append(path)
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Reads and parses one file, with errors naming it.
    static func load(_ path: String) throws(Failure) -> JSONValue {
        func fail(_ why: String) -> Failure { Failure(description: "config file \(path): \(why)") }
        if path.hasSuffix(".hcl") { throw fail("HCL is not supported; fedagent reads JSON configuration files only") }
        var info = stat()
        guard stat(path, &info) == 0 else { throw fail(errnoText()) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw fail("not a regular file") }
        guard info.st_size <= sizeLimit else { throw fail("larger than the \(sizeLimit >> 20) MiB limit") }
        guard let bytes = DataFile.read(path, limit: sizeLimit) else { throw fail("cannot read (or larger than the limit)") }
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw fail("invalid JSON: \(error.description)")
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Walks one document, applying what it knows and collecting warnings.
private struct Reader {
    typealias Failure = ConfigFile.Failure
    let file: String
    var warnings: [String] = []

    init(file: String) { self.file = file }

    mutating func apply(_ document: JSONValue, to c: inout AgentConfig) throws(Failure) {
        guard let members = document.objectValue else {
            throw Failure(description: "config file \(file): the top level must be a JSON object")
        }
        for (key, value) in members {
            switch key {
            case "datacenter":
                let dc = try string(value, key).lowercased()
                guard AgentConfig.isValidNodeName(dc) else { throw fail(key, "a datacenter name (letters, digits and dashes)", value) }
                c.datacenter = dc
            case "node_name":
                let name = try string(value, key)
                guard AgentConfig.isValidNodeName(name) else { throw fail(key, "a node name (1-63 letters, digits and dashes)", value) }
                c.nodeName = name
            case "server": c.server = try bool(value, key)
            case "bind_addr": c.bindAddress = try address(value, key)
            case "advertise_addr": c.advertiseAddress = try address(value, key, reachable: true)
            case "advertise_addr_wan": c.advertiseWANAddress = try address(value, key, reachable: true)
            case "serf_lan": c.serfLANBind = try address(value, key)
            case "serf_wan": c.serfWANBind = try address(value, key)
            case "client_addr": c.clientAddress = try address(value, key)
            case "ports": try applyPorts(value, to: &c)
            case "retry_join": c.retryJoin += try strings(value, key)
            case "retry_join_wan": c.retryJoinWAN += try strings(value, key)
            case "data_dir": c.dataDir = try string(value, key, nonEmpty: true)
            case "log_json": c.logJSON = try bool(value, key)
            case "ui_config":
                for (uiKey, v) in try object(value, key) {
                    if uiKey == "enabled" { c.uiEnabled = try bool(v, "ui_config.enabled") } else { unknown("ui_config." + uiKey) }
                }
            case "ui": c.uiEnabled = try bool(value, key)
            case "log_level":
                guard let level = Log.Level(name: try string(value, key)) else {
                    throw fail(key, "one of trace, debug, info, warn, err", value)
                }
                c.logLevel = level
            case "domain":
                let domain = try string(value, key, nonEmpty: true)
                c.domain = domain.hasSuffix(".") ? domain : domain + "."
            case "encrypt":
                let text = try string(value, key)
                guard !text.isEmpty else { break }
                switch Keyring.parseKey(text) {
                case .success(let k): c.encryptKey = k
                case .failure(let error): throw Failure(description: "config file \(file): \"encrypt\": \(error)")
                }
            case "encrypt_verify_incoming": c.encryptVerifyIncoming = try bool(value, key)
            case "encrypt_verify_outgoing": c.encryptVerifyOutgoing = try bool(value, key)
            case "services", "service": c.serviceDefinitions += try objects(value, key)
            case "checks", "check": c.checkDefinitions += try objects(value, key)
            case "enable_script_checks": c.enableScriptChecks = try bool(value, key)
            case "enable_local_script_checks": c.enableLocalScriptChecks = try bool(value, key)
            case "disable_coordinates": c.disableCoordinates = try bool(value, key)
            case "dns_config": try applyDNS(value, to: &c.dns)
            case "telemetry": try applyTelemetry(value, to: &c.telemetry)
            case "alt_domain":
                let domain = try string(value, key, nonEmpty: true)
                c.altDomain = domain.hasSuffix(".") ? domain : domain + "."
            case "recursors": c.recursors += try strings(value, key)
            case "recursor": c.recursors.append(try string(value, key, nonEmpty: true))
            case "tls": try applyTLS(value, to: &c.tls)
            case "acl": try applyACL(value, to: &c.acl)
            // Consul's older top-level TLS keys (before `tls` in 1.12).
            case "ca_file": c.tls.caFile = try string(value, key, nonEmpty: true)
            case "cert_file": c.tls.certFile = try string(value, key, nonEmpty: true)
            case "key_file": c.tls.keyFile = try string(value, key, nonEmpty: true)
            case "verify_incoming": c.tls.verifyIncoming = try bool(value, key)
            case "verify_outgoing": c.tls.verifyOutgoing = try bool(value, key)
            case "verify_server_hostname": c.tls.verifyServerHostname = try bool(value, key)
            case "verify_incoming_rpc": c.tls.rpcVerifyIncoming = try bool(value, key)
            case "verify_incoming_https": c.tls.httpsVerifyIncoming = try bool(value, key)
            default: unknown(key)
            }
        }
    }

    private mutating func applyPorts(_ value: JSONValue, to c: inout AgentConfig) throws(Failure) {
        for (key, v) in try object(value, "ports") {
            let path = "ports." + key
            switch key {
            case "http": c.httpPort = try port(v, path)
            case "dns":
                // Consul disables DNS with -1; here 0 means off.
                if v.intValue == -1 { c.dnsPort = 0 } else { c.dnsPort = try port(v, path, allowZero: true) }
            case "serf_lan": c.serfLANPort = try port(v, path)
            case "serf_wan": c.serfWANPort = try port(v, path)
            case "server": c.serverPort = try port(v, path)
            case "https":
                // Off by default; Consul turns it off with -1 (0 here too).
                let n = v.intValue == -1 ? 0 : try port(v, path, allowZero: true)
                c.httpsPort = n == 0 ? nil : n
            default: unknown(path)
            }
        }
    }

    /// `tls.defaults`, `tls.internal_rpc`, `tls.https`: the keys fedagent
    /// enforces; others (cipher suites, TLS versions: fixed here to TLS 1.2+
    /// with forward-secret AEAD suites) are warned about, not silently taken.
    private mutating func applyTLS(_ value: JSONValue, to t: inout TLSSettings) throws(Failure) {
        for (section, v) in try object(value, "tls") {
            for (key, x) in try object(v, "tls." + section) {
                let path = "tls.\(section).\(key)"
                switch (section, key) {
                case ("defaults", "ca_file"): t.caFile = try string(x, path, nonEmpty: true)
                case ("defaults", "cert_file"): t.certFile = try string(x, path, nonEmpty: true)
                case ("defaults", "key_file"): t.keyFile = try string(x, path, nonEmpty: true)
                case ("defaults", "verify_incoming"): t.verifyIncoming = try bool(x, path)
                case ("defaults", "verify_outgoing"): t.verifyOutgoing = try bool(x, path)
                case ("internal_rpc", "verify_server_hostname"): t.verifyServerHostname = try bool(x, path)
                case ("internal_rpc", "verify_incoming"): t.rpcVerifyIncoming = try bool(x, path)
                case ("https", "verify_incoming"): t.httpsVerifyIncoming = try bool(x, path)
                default: unknown(path)
                }
            }
        }
    }

    private mutating func applyACL(_ value: JSONValue, to a: inout ACLSettings) throws(Failure) {
        for (key, v) in try object(value, "acl") {
            let path = "acl." + key
            switch key {
            case "enabled": a.enabled = try bool(v, path)
            case "default_policy":
                let text = try string(v, path)
                guard text == "allow" || text == "deny" else { throw fail(path, "\"allow\" or \"deny\"", v) }
                a.defaultAllow = text == "allow"
            case "tokens":
                for (name, t) in try object(v, path) {
                    let tokenPath = path + "." + name
                    switch name {
                    case "initial_management", "master": a.initialManagement = try string(t, tokenPath, nonEmpty: true)
                    case "agent": a.agentToken = try string(t, tokenPath, nonEmpty: true)
                    case "default": a.defaultToken = try string(t, tokenPath, nonEmpty: true)
                    default: unknown(tokenPath)
                    }
                }
            default: unknown(path)
            }
        }
    }

    private mutating func applyDNS(_ value: JSONValue, to d: inout DNSSettings) throws(Failure) {
        for (key, v) in try object(value, "dns_config") {
            let path = "dns_config." + key
            switch key {
            case "only_passing": d.onlyPassing = try bool(v, path)
            case "node_ttl": d.nodeTTL = try duration(v, path)
            case "service_ttl":
                // Consul's form is a map of service name (or "*") to TTL; a bare string means "*".
                guard case .object(let entries) = v else {
                    d.serviceTTL = try duration(v, path)
                    continue
                }
                for (name, ttl) in entries {
                    let text = try duration(ttl, path + "." + name)
                    if name == "*" { d.serviceTTL = text } else { d.serviceTTLByName[name] = text }
                }
            case "udp_answer_limit": d.udpAnswerLimit = try integer(v, path, 0...65535)
            case "a_record_limit": d.aRecordLimit = try integer(v, path, 0...65535)
            case "enable_truncate": d.enableTruncate = try bool(v, path)
            case "recursor_timeout": d.recursorTimeout = try duration(v, path)
            case "soa":
                for (soaKey, x) in try object(v, path) {
                    if soaKey == "min_ttl" {
                        d.soaMinTTL = try integer(x, path + ".min_ttl", 0...Int(UInt32.max))
                    } else {
                        unknown(path + "." + soaKey)
                    }
                }
            default: unknown(path)
            }
        }
    }

    /// Consul's `telemetry` keys that fedagent has; the sinks it lacks
    /// (statsd, dogstatsd, circonus...) are warned about like unknown keys.
    private mutating func applyTelemetry(_ value: JSONValue, to t: inout TelemetrySettings) throws(Failure) {
        for (key, v) in try object(value, "telemetry") {
            let path = "telemetry." + key
            switch key {
            case "prometheus_retention_time": t.prometheusRetention = try duration(v, path)
            case "disable_hostname": t.disableHostname = try bool(v, path)
            case "metrics_prefix": t.metricsPrefix = try string(v, path, nonEmpty: true)
            default: unknown(path)
            }
        }
    }

    // MARK: - Typed values

    private mutating func unknown(_ path: String) {
        warnings.append("config file \(file): unknown key \"\(path)\" ignored")
    }

    private func fail(_ path: String, _ requirement: String, _ value: JSONValue) -> Failure {
        Failure(description: "config file \(file): \"\(path)\" must be \(requirement), not \(Self.describe(value))")
    }

    private func string(_ v: JSONValue, _ path: String, nonEmpty: Bool = false) throws(Failure) -> String {
        guard let s = v.stringValue, !(nonEmpty && s.isEmpty) else {
            throw fail(path, nonEmpty ? "a non-empty string" : "a string", v)
        }
        return s
    }

    private func bool(_ v: JSONValue, _ path: String) throws(Failure) -> Bool {
        guard let b = v.boolValue else { throw fail(path, "true or false", v) }
        return b
    }

    private func integer(_ v: JSONValue, _ path: String, _ range: ClosedRange<Int>) throws(Failure) -> Int {
        guard let n = v.intValue, range.contains(n) else {
            throw fail(path, "an integer (\(range.lowerBound)-\(range.upperBound))", v)
        }
        return n
    }

    private func port(_ v: JSONValue, _ path: String, allowZero: Bool = false) throws(Failure) -> UInt16 {
        guard let n = v.intValue, n >= (allowZero ? 0 : 1), n <= 65535 else {
            throw fail(path, allowZero ? "a port number (0-65535, 0 or -1 for off)" : "a port number (1-65535)", v)
        }
        return UInt16(n)
    }

    private func address(_ v: JSONValue, _ path: String, reachable: Bool = false) throws(Failure) -> String {
        let text = try string(v, path)
        guard let ip = IPAddress.parse(text) else { throw fail(path, "an IP address", v) }
        if reachable && ip.allSatisfy({ $0 == 0 }) { throw fail(path, "a reachable IP address", v) }
        return text
    }

    private func duration(_ v: JSONValue, _ path: String) throws(Failure) -> String {
        let text = try string(v, path)
        guard GoDuration.parse(text) != nil else { throw fail(path, "a duration such as \"10s\" or \"1m30s\"", v) }
        return text
    }

    private func strings(_ v: JSONValue, _ path: String) throws(Failure) -> [String] {
        guard let items = v.arrayValue else { throw fail(path, "an array of strings", v) }
        var out: [String] = []
        for (i, item) in items.enumerated() { out.append(try string(item, "\(path)[\(i)]")) }
        return out
    }

    private func object(_ v: JSONValue, _ path: String) throws(Failure) -> [(String, JSONValue)] {
        guard let members = v.objectValue else { throw fail(path, "an object", v) }
        return members
    }

    /// One object, or an array of objects (Consul accepts both for
    /// `service`/`services` and `check`/`checks`).
    private func objects(_ v: JSONValue, _ path: String) throws(Failure) -> [JSONValue] {
        if case .object = v { return [v] }
        guard let items = v.arrayValue else { throw fail(path, "an object or an array of objects", v) }
        for (i, item) in items.enumerated() where item.objectValue == nil {
            throw fail("\(path)[\(i)]", "an object", item)
        }
        return items
    }

    /// A short, one-line rendering of a bad value for error messages.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return Int(exactly: d).map { String($0) } ?? "\(d)"
        case .array: return "an array"
        case .object: return "an object"
        case .string(let s):
            let scalars = s.unicodeScalars
            var shown = scalars.prefix(40).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined()
            if scalars.count > 40 { shown += "..." }
            return "\"\(shown)\""
        }
    }
}
