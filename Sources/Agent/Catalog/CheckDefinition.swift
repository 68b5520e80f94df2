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
        for kind in ["HTTP", "TCP", "GRPC", "Args", "Script", "DockerContainerID", "H2PING", "UDP", "OSService"] {
            if let v = object.value(forKeyIgnoringCaseAndUnderscores: kind), !v.isNull {
                return .failure(InvalidDefinition("\(kind) checks are not supported yet: use a TTL check"))
            }
        }
        guard let ttlText = string("TTL") else {
            return .failure(InvalidDefinition("Invalid check: TTL must be set (the only check type supported yet)"))
        }
        guard let ttl = GoDuration.parse(ttlText), ttl > .zero, ttl <= .seconds(86400 * 365) else {
            return .failure(InvalidDefinition("Invalid check: TTL \"\(ttlText)\" is not a positive duration"))
        }
        var status = HealthStatus.critical
        if let text = string("Status"), !text.isEmpty {
            guard let s = HealthStatus(rawValue: text) else {
                return .failure(InvalidDefinition("Invalid check status: \"\(text)\""))
            }
            status = s
        }
        let id = string("CheckID") ?? string("ID") ?? defaultID
        let check = Check(id: id.isEmpty ? defaultID : id, name: string("Name") ?? defaultName, status: status,
                          notes: string("Notes") ?? "", type: "ttl", ttl: ttlText)
        return .success(check)
    }
}
