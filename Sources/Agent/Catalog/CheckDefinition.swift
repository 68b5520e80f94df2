import JSON

extension Catalog {
    public struct InvalidDefinition: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses the `Check`/`Checks` of a service registration (Consul's
    /// CamelCase or snake_case keys). IDs default to `service:<id>`, or
    /// `service:<id>:N` when there are several; new checks start critical
    /// unless `Status` says otherwise. TTL checks run now; HTTP and TCP
    /// checks are refused until their runners land.
    public static func serviceChecks(_ body: JSONValue, service: Service) -> Result<[Check], InvalidDefinition> {
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
            switch parseCheck(object, defaultID: defaultID, defaultName: "Service '\(service.name)' check") {
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

    static func parseCheck(_ object: JSONValue, defaultID: String, defaultName: String) -> Result<Check, InvalidDefinition> {
        func string(_ key: String) -> String? {
            object.value(forKeyIgnoringCaseAndUnderscores: key)?.stringValue
        }
        for kind in ["GRPC", "Args", "Script", "DockerContainerID", "H2PING", "UDP", "OSService", "AliasService"] {
            if let v = object.value(forKeyIgnoringCaseAndUnderscores: kind), !v.isNull {
                return .failure(InvalidDefinition("\(kind) checks are not supported yet: use a TTL, HTTP or TCP check"))
            }
        }
        var check = Check(id: "", name: string("Name") ?? defaultName, notes: string("Notes") ?? "")
        if let ttlText = string("TTL") {
            guard let ttl = GoDuration.parse(ttlText), ttl > .zero, ttl <= .seconds(86400 * 365) else {
                return .failure(InvalidDefinition("Invalid check: TTL \"\(ttlText)\" is not a positive duration"))
            }
            check.type = "ttl"
            check.ttl = ttlText
        } else if let url = string("HTTP") {
            guard CheckProbe.HTTPTarget(url) != nil else {
                return .failure(InvalidDefinition("Invalid check: HTTP \"\(url)\" must be an http:// URL with an IP address or localhost (https and names are not supported yet)"))
            }
            check.type = "http"
            check.target = url
        } else if let address = string("TCP") {
            guard CheckProbe.tcpEndpoint(address) != nil else {
                return .failure(InvalidDefinition("Invalid check: TCP \"\(address)\" must be IP:port or localhost:port"))
            }
            check.type = "tcp"
            check.target = address
        } else {
            return .failure(InvalidDefinition("Invalid check: one of TTL, HTTP or TCP must be set"))
        }
        if check.type != "ttl" {
            guard let text = string("Interval"), let interval = GoDuration.parse(text), interval >= .seconds(1) else {
                return .failure(InvalidDefinition("Invalid check: Interval must be a duration of at least 1s for \(check.type.uppercased()) checks"))
            }
            check.interval = text
            let timeoutText = string("Timeout") ?? "10s"
            guard let timeout = GoDuration.parse(timeoutText), timeout > .zero else {
                return .failure(InvalidDefinition("Invalid check: Timeout \"\(timeoutText)\" is not a positive duration"))
            }
            check.timeout = timeoutText
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
}
