import JSON

extension Catalog {
    public struct InvalidDefinition: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses the `Check`/`Checks` of a service registration (Consul's
    /// CamelCase or snake_case keys). IDs default to `service:<id>`, or
    /// `service:<id>:N` when there are several; new checks start critical
    /// unless `Status` says otherwise.
    public static func serviceChecks(_ body: JSONValue, service: Service, scripts: Bool = false) -> Result<[Check], InvalidDefinition> {
        var objects: [JSONValue] = []
        if let one = body.value(forKeyIgnoringCaseAndUnderscores: "Check"), !one.isNull { objects.append(one) }
        if let many = body.value(forKeyIgnoringCaseAndUnderscores: "Checks"), !many.isNull {
            guard let list = many.arrayValue else { return .failure(InvalidDefinition("Checks must be a list of objects")) }
            objects.append(contentsOf: list)
        }
        var out: [Check] = []
        for (n, object) in objects.enumerated() {
            guard object.objectValue != nil else { return .failure(InvalidDefinition("a check must be an object")) }
            let defaultID = objects.count == 1 ? "service:\(service.id)" : "service:\(service.id):\(n + 1)"
            switch parseCheck(object, defaultID: defaultID, defaultName: "Service '\(service.name)' check", scripts: scripts) {
            case .failure(let e): return .failure(e)
            case .success(var check):
                check.serviceID = service.id
                check.serviceName = service.name
                check.serviceTags = service.tags
                out.append(check)
            }
        }
        return .success(out)
    }

    /// One check definition. `scripts`: whether script checks may be
    /// defined here (a script check is remote code execution for whoever
    /// can register it, so the agent allows them only when configured to).
    static func parseCheck(_ object: JSONValue, defaultID: String, defaultName: String,
                           scripts: Bool = false) -> Result<Check, InvalidDefinition> {
        func field(_ key: String) -> JSONValue? {
            guard let v = object.value(forKeyIgnoringCaseAndUnderscores: key), !v.isNull else { return nil }
            return v
        }
        func string(_ key: String) -> String? { field(key)?.stringValue }
        for kind in ["GRPC", "Script", "DockerContainerID", "H2PING", "OSService"] where field(kind) != nil {
            return .failure(InvalidDefinition("\(kind) checks are not supported: use a TTL, HTTP, TCP, UDP, script or alias check"))
        }
        var check = Check(id: "", name: string("Name") ?? defaultName, notes: string("Notes") ?? "")
        if let args = field("Args") ?? field("ScriptArgs") {
            guard let list = args.arrayValue?.compactMap(\.stringValue), list.count == args.arrayValue?.count,
                  !list.isEmpty, list.count <= CheckSpec.maxArgs, !list[0].isEmpty else {
                return .failure(InvalidDefinition("Invalid check: Args must be a non-empty list of strings"))
            }
            guard scripts else {
                return .failure(InvalidDefinition("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true"))
            }
            check.type = "script"
            check.spec.args = list
            check.target = list.joined(separator: " ")
        } else if let ttlText = string("TTL") {
            guard let ttl = GoDuration.parse(ttlText), ttl > .zero, ttl <= .seconds(86400 * 365) else {
                return .failure(InvalidDefinition("Invalid check: TTL \"\(ttlText)\" is not a positive duration"))
            }
            check.type = "ttl"
            check.ttl = ttlText
        } else if let url = string("HTTP") {
            guard CheckProbe.URL(url) != nil else {
                return .failure(InvalidDefinition("Invalid check: HTTP \"\(url)\" must be an http:// or https:// URL"))
            }
            check.type = "http"
            check.target = url
            if case .failure(let e) = parseHTTPDetails(field, &check.spec) { return .failure(e) }
        } else if let address = string("TCP") ?? string("UDP") {
            let kind = string("TCP") != nil ? "tcp" : "udp"
            guard CheckProbe.hostPort(address) != nil else {
                return .failure(InvalidDefinition("Invalid check: \(kind.uppercased()) \"\(address)\" must be host:port"))
            }
            check.type = kind
            check.target = address
        } else if let service = string("AliasService") {
            check.type = "alias"
            check.spec.aliasService = service
            check.spec.aliasNode = string("AliasNode") ?? ""
            check.target = service
        } else if let node = string("AliasNode") {
            check.type = "alias"
            check.spec.aliasNode = node
            check.target = node
        } else {
            return .failure(InvalidDefinition("Invalid check: one of TTL, HTTP, TCP, UDP, Args or AliasService/AliasNode must be set"))
        }
        if !["ttl", "alias"].contains(check.type) {
            guard let text = string("Interval"), let interval = GoDuration.parse(text), interval >= .seconds(1) else {
                return .failure(InvalidDefinition("Invalid check: Interval must be a duration of at least 1s for \(check.type.uppercased()) checks"))
            }
            check.interval = text
            // Consul's default timeout: 30s for scripts, 10s for the rest.
            let timeoutText = string("Timeout") ?? (check.type == "script" ? "30s" : "10s")
            guard let timeout = GoDuration.parse(timeoutText), timeout > .zero, timeout <= .seconds(3600) else {
                return .failure(InvalidDefinition("Invalid check: Timeout \"\(timeoutText)\" is not a positive duration"))
            }
            check.timeout = timeoutText
        }
        for (key, keyPath) in [("SuccessBeforePassing", \CheckSpec.successBeforePassing),
                               ("FailuresBeforeWarning", \CheckSpec.failuresBeforeWarning),
                               ("FailuresBeforeCritical", \CheckSpec.failuresBeforeCritical)] {
            guard let v = field(key) else { continue }
            guard let n = v.intValue, (0...10_000).contains(n) else {
                return .failure(InvalidDefinition("Invalid check: \(key) must be an integer between 0 and 10000"))
            }
            check.spec[keyPath: keyPath] = n
        }
        var status = HealthStatus.critical
        if let text = string("Status"), !text.isEmpty {
            guard let s = HealthStatus(rawValue: text) else {
                return .failure(InvalidDefinition("Invalid check status: \"\(text)\""))
            }
            status = s
        }
        if let text = string("DeregisterCriticalServiceAfter"), !text.isEmpty {
            guard let d = GoDuration.parse(text), d > .zero else {
                return .failure(InvalidDefinition("Invalid check: DeregisterCriticalServiceAfter \"\(text)\" is not a positive duration"))
            }
            check.deregisterCriticalAfter = text
        }
        let id = string("CheckID") ?? string("ID") ?? defaultID
        check.id = id.isEmpty ? defaultID : id
        check.status = status
        return .success(check)
    }

    /// `Method`, `Header`, `Body`, `TLSSkipVerify`, `TLSServerName` of an HTTP check.
    private static func parseHTTPDetails(_ field: (String) -> JSONValue?, _ spec: inout CheckSpec) -> Result<Void, InvalidDefinition> {
        if let method = field("Method") {
            guard let m = method.stringValue, !m.isEmpty, m.count <= 16,
                  m.utf8.allSatisfy({ (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }) else {
                return .failure(InvalidDefinition("Invalid check: Method must be an HTTP method name"))
            }
            spec.method = m.uppercased()
        }
        if let header = field("Header") {
            guard let pairs = header.objectValue, pairs.count <= CheckSpec.maxHeaders else {
                return .failure(InvalidDefinition("Invalid check: Header must be an object of lists of strings (at most \(CheckSpec.maxHeaders))"))
            }
            for (name, values) in pairs {
                let list = values.arrayValue?.compactMap(\.stringValue) ?? values.stringValue.map { [$0] } ?? []
                let token = !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ":") }
                guard token, list.allSatisfy({ !$0.utf8.contains(13) && !$0.utf8.contains(10) && $0.utf8.count <= 4096 }) else {
                    return .failure(InvalidDefinition("Invalid check: Header \"\(name)\" is not a valid header"))
                }
                spec.headers[name] = list
            }
        }
        if let body = field("Body") {
            guard let b = body.stringValue, b.utf8.count <= CheckSpec.maxBody else {
                return .failure(InvalidDefinition("Invalid check: Body must be a string of at most \(CheckSpec.maxBody) bytes"))
            }
            spec.body = b
        }
        if let skip = field("TLSSkipVerify") {
            guard let b = skip.boolValue else { return .failure(InvalidDefinition("Invalid check: TLSSkipVerify must be a boolean")) }
            spec.tlsSkipVerify = b
        }
        if let name = field("TLSServerName") {
            guard let n = name.stringValue, n.utf8.count <= 253 else {
                return .failure(InvalidDefinition("Invalid check: TLSServerName must be a host name"))
            }
            spec.tlsServerName = n
        }
        return .success(())
    }
}
