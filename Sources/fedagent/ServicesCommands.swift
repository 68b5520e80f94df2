import Agent
import JSON

/// `fedagent services register|deregister`: `consul services`' local
/// registrations through /v1/agent/service/*.
enum ServicesCommands {
    static let synopsis = "Interact with services"
    static let subcommands: [Subcommands.Entry] = [
        ("register", "Register services with the local agent", register),
        ("deregister", "Deregister services with the local agent", deregister),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        Subcommands.run("services", synopsis, subcommands, arguments)
    }

    static let registerSpecs = AgentClient.flagSpecs + [
        .init("name", .string, "Name of the service (when no definition file is given)."),
        .init("id", .string, "ID of the service; defaults to the name."),
        .init("address", .string, "Address of the service; defaults to the node's."),
        .init("port", .string, "Port of the service."),
        .init("tag", .list, "A tag of the service."),
        .init("meta", .list, "Metadata as key=value."),
    ]

    static func register(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: registerSpecs, usage: "fedagent services register [options] [FILE.json ...]",
                             synopsis: "Registers a service from the flags, or each service defined in the files") { client, flags in
            // As in Consul, definition files replace the flags entirely.
            let definitions = flags.positional.isEmpty ? [try fromFlags(flags)] : try fromFiles(flags.positional)
            for definition in definitions {
                let name = definition.value(forKeyIgnoringCase: "Name")?.stringValue ?? ""
                var w = JSONWriter()
                w.value(definition)
                do {
                    _ = try client.call("PUT", "/v1/agent/service/register", body: w.bytes)
                } catch {
                    // No client-side name check: the agent's own message ("Missing service name") is the error.
                    throw AgentClient.Failure(description: "Error registering service \"\(name)\": \(error)")
                }
                print("Registered service: \(name)")
            }
        }
    }

    /// The registration body from flags, with Consul's CamelCase keys.
    static func fromFlags(_ flags: CommandLineFlags) throws(AgentClient.Failure) -> JSONValue {
        var fields: [(String, JSONValue)] = []
        if let name = flags.string("name") { fields.append(("Name", .string(name))) }
        if let id = flags.string("id") { fields.append(("ID", .string(id))) }
        if let address = flags.string("address") { fields.append(("Address", .string(address))) }
        if let text = flags.string("port") {
            guard let port = Int(text), (0...65535).contains(port) else {
                throw AgentClient.Failure(description: "invalid value \"\(text)\" for -port: not a port number")
            }
            fields.append(("Port", .number(Double(port))))
        }
        let tags = flags.list("tag")
        if !tags.isEmpty { fields.append(("Tags", .array(tags.map(JSONValue.string)))) }
        var meta: [(String, JSONValue)] = []
        for pair in flags.list("meta") {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw AgentClient.Failure(description: "invalid value \"\(pair)\" for -meta: expected key=value")
            }
            meta.append((String(pair[..<eq]), .string(String(pair[pair.index(after: eq)...]))))
        }
        if !meta.isEmpty { fields.append(("Meta", .object(meta))) }
        return .object(fields)
    }

    /// Service objects from definition files: `{"Service": {...}}`,
    /// `{"Services": [...]}` (any key case, as Consul's config files) or a
    /// bare service object.
    static func fromFiles(_ paths: [String]) throws(AgentClient.Failure) -> [JSONValue] {
        var result: [JSONValue] = []
        for path in paths {
            guard let bytes = DataFile.read(path, limit: 1 << 20) else {
                throw AgentClient.Failure(description: "Error reading service definition \(path): cannot read the file (missing, unreadable or over 1 MiB)")
            }
            let json: JSONValue
            do {
                json = try JSONValue.parse(bytes)
            } catch {
                throw AgentClient.Failure(description: "Error parsing service definition \(path): \(error.description)")
            }
            guard json.objectValue != nil else {
                throw AgentClient.Failure(description: "Error parsing service definition \(path): expected a JSON object")
            }
            if let one = json.value(forKeyIgnoringCase: "service") {
                guard one.objectValue != nil else {
                    throw AgentClient.Failure(description: "Error parsing service definition \(path): \"service\" must be an object")
                }
                result.append(one)
            } else if let many = json.value(forKeyIgnoringCase: "services") {
                guard let list = many.arrayValue, list.allSatisfy({ $0.objectValue != nil }) else {
                    throw AgentClient.Failure(description: "Error parsing service definition \(path): \"services\" must be an array of objects")
                }
                result += list
            } else {
                result.append(json)
            }
        }
        return result
    }

    static let deregisterSpecs = AgentClient.flagSpecs + [
        .init("id", .string, "ID of the service to deregister."),
    ]

    static func deregister(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: deregisterSpecs, usage: "fedagent services deregister [options] [FILE.json ...]",
                             synopsis: "Deregisters the service with the given ID, or each service defined in the files") { client, flags in
            let ids: [String]
            switch (flags.string("id"), flags.positional.isEmpty) {
            case (nil, true):
                throw AgentClient.Failure(description: "Service deregistration requires at least one argument or -id.")
            case (_?, false):
                throw AgentClient.Failure(description: "Service deregistration requires arguments or -id, not both.")
            case (let id?, true):
                ids = [id]
            case (nil, false):
                // Consul deregisters a file's service by its ID, else its name.
                ids = try fromFiles(flags.positional).map { s in
                    s.value(forKeyIgnoringCase: "ID")?.stringValue ?? s.value(forKeyIgnoringCase: "Name")?.stringValue ?? ""
                }
            }
            for id in ids {
                guard !id.isEmpty else {
                    throw AgentClient.Failure(description: "Error deregistering service: the definition has neither an ID nor a name")
                }
                do {
                    _ = try client.call("PUT", "/v1/agent/service/deregister/\(pathEscape(id))")
                } catch {
                    throw AgentClient.Failure(description: "Error deregistering service \"\(id)\": \(error)")
                }
                print("Deregistered service: \(id)")
            }
        }
    }
}
