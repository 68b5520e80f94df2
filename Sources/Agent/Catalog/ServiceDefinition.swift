import JSON

/// A service definition (the body of `/v1/agent/service/register`, or an
/// entry of `services` in a configuration file), with Consul's CamelCase
/// keys or the snake_case ones clients also send.
public enum ServiceDefinition {
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func parse(_ body: [UInt8], scripts: Bool = false) -> Result<(Catalog.Service, [Catalog.Check]), Invalid> {
        do {
            return parse(json: try JSONValue.parse(body), scripts: scripts)
        } catch {
            return .failure(Invalid(description: "Request decode failed: \(error)"))
        }
    }

    /// `scripts`: whether script checks may be defined (see `Catalog.parseCheck`).
    public static func parse(json: JSONValue, scripts: Bool = false) -> Result<(Catalog.Service, [Catalog.Check]), Invalid> {
        guard json.objectValue != nil else { return .failure(Invalid(description: "Request decode failed: body must be a JSON object")) }
        func field(_ key: String) -> JSONValue? {
            guard let v = json.value(forKeyIgnoringCaseAndUnderscores: key), !v.isNull else { return nil }
            return v
        }
        func string(_ key: String) -> Result<String?, Invalid> {
            guard let v = field(key) else { return .success(nil) }
            guard let s = v.stringValue else { return .failure(Invalid(description: "Request decode failed: \(key) must be a string")) }
            return .success(s)
        }
        do {
            guard let name = try string("Name").get(), !name.isEmpty else {
                return .failure(Invalid(description: "Missing service name"))
            }
            var service = Catalog.Service(id: try string("ID").get() ?? name, name: name)
            if service.id.isEmpty { service.id = name }
            service.address = try string("Address").get() ?? ""
            service.kind = try string("Kind").get() ?? ""
            if let port = field("Port") {
                guard let p = port.intValue, (0...65535).contains(p) else {
                    return .failure(Invalid(description: "Request decode failed: Port must be an integer between 0 and 65535"))
                }
                service.port = p
            }
            if let tags = field("Tags") {
                guard let list = tags.arrayValue?.compactMap(\.stringValue), list.count == tags.arrayValue?.count else {
                    return .failure(Invalid(description: "Request decode failed: Tags must be a list of strings"))
                }
                service.tags = list
            }
            if let meta = field("Meta") {
                guard let pairs = meta.objectValue else {
                    return .failure(Invalid(description: "Request decode failed: Meta must be an object of strings"))
                }
                for (k, v) in pairs {
                    guard let s = v.stringValue else {
                        return .failure(Invalid(description: "Request decode failed: Meta[\(k)] must be a string"))
                    }
                    service.meta[k] = s
                }
            }
            if let weights = field("Weights") {
                let passing = weights.value(forKeyIgnoringCase: "Passing")?.intValue ?? 1
                let warning = weights.value(forKeyIgnoringCase: "Warning")?.intValue ?? 1
                guard passing >= 1, warning >= 0 else {
                    return .failure(Invalid(description: "Invalid Weights: Passing must be at least 1, Warning at least 0"))
                }
                service.weights = Catalog.Weights(passing: passing, warning: warning)
            }
            if let override = field("EnableTagOverride") {
                guard let b = override.boolValue else {
                    return .failure(Invalid(description: "Request decode failed: EnableTagOverride must be a boolean"))
                }
                service.enableTagOverride = b
            }
            if let problem = Catalog.Limits.problem(in: service) { return .failure(Invalid(description: problem)) }
            switch Catalog.serviceChecks(json, service: service, scripts: scripts) {
            case .success(let checks):
                if let problem = checks.lazy.compactMap(Catalog.Limits.problem(in:)).first {
                    return .failure(Invalid(description: problem))
                }
                return .success((service, checks))
            case .failure(let error): return .failure(Invalid(description: error.description))
            }
        } catch {
            return .failure(error)
        }
    }

    /// A check defined on its own (`checks` in a configuration file): its
    /// ID defaults to its name; `ServiceID` ties it to a service.
    public static func parseCheck(json: JSONValue, scripts: Bool = false) -> Result<Catalog.Check, Invalid> {
        guard json.objectValue != nil else { return .failure(Invalid(description: "a check must be an object")) }
        let name = json.value(forKeyIgnoringCaseAndUnderscores: "Name")?.stringValue ?? ""
        guard !name.isEmpty else { return .failure(Invalid(description: "Missing check name")) }
        switch Catalog.parseCheck(json, defaultID: name, defaultName: name, scripts: scripts) {
        case .failure(let e): return .failure(Invalid(description: e.description))
        case .success(var check):
            check.serviceID = json.value(forKeyIgnoringCaseAndUnderscores: "ServiceID")?.stringValue ?? ""
            if let problem = Catalog.Limits.problem(in: check) { return .failure(Invalid(description: problem)) }
            return .success(check)
        }
    }
}
