import Agent
import JSON

/// `fedagent catalog datacenters|nodes|services`: `consul catalog`'s
/// read-only views of the local agent's catalog replica.
enum CatalogCommands {
    static let synopsis = "Interact with the catalog"
    static let subcommands: [Subcommands.Entry] = [
        ("datacenters", "Lists all known datacenters", datacenters),
        ("nodes", "Lists all nodes in the given datacenter", nodes),
        ("services", "Lists all registered services in a datacenter", services),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        Subcommands.run("catalog", synopsis, subcommands, arguments)
    }

    static func datacenters(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: AgentClient.flagSpecs, usage: "fedagent catalog datacenters [options]",
                             synopsis: "Lists all known datacenters") { client, flags in
            try Subcommands.noArguments(flags)
            let json = try Subcommands.fetch(client, "/v1/catalog/datacenters", "Error listing datacenters")
            let dcs = (json.arrayValue ?? []).compactMap(\.stringValue)
            guard !dcs.isEmpty else { throw AgentClient.Failure(description: "No datacenters found") }
            for dc in dcs { print(dc) }
        }
    }

    static let nodeSpecs = AgentClient.flagSpecs + [
        .init("detailed", .bool, "Show full node IDs, tagged addresses and metadata."),
        .init("service", .string, "Only nodes providing the named service."),
    ]

    static func nodes(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: nodeSpecs, usage: "fedagent catalog nodes [options]",
                             synopsis: "Lists all nodes in the given datacenter") { client, flags in
            try Subcommands.noArguments(flags)
            let list: [JSONValue]
            if let service = flags.string("service") {
                // Service entries carry the node's fields (meta as NodeMeta), as Consul converts them.
                let json = try Subcommands.fetch(client, "/v1/catalog/service/\(pathEscape(service))", "Error listing nodes")
                list = json.arrayValue ?? []
            } else {
                list = try Subcommands.fetch(client, "/v1/catalog/nodes", "Error listing nodes").arrayValue ?? []
            }
            var rows: [NodeRow] = []
            var seen: Set<String> = []
            // A node with two instances of the service is listed once.
            for entry in list {
                guard let row = NodeRow(entry), seen.insert(row.node).inserted else { continue }
                rows.append(row)
            }
            rows.sort { $0.node < $1.node }
            guard !rows.isEmpty else {
                // Consul reports an empty result on stderr yet exits 0.
                printError("No nodes match the given query - try expanding your search.")
                return
            }
            let detailed = flags.bool("detailed")
            var table = [detailed ? ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"] : ["Node", "ID", "Address", "DC"]]
            for r in rows {
                if detailed {
                    table.append([r.node, r.id, r.address, r.datacenter, keyValues(r.taggedAddresses), keyValues(r.meta)])
                } else {
                    // Consul shortens the ID to its first group (8 hex digits of a UUID).
                    let short = r.id.split(separator: "-", maxSplits: 1).first.map(String.init) ?? r.id
                    table.append([r.node, short, r.address, r.datacenter])
                }
            }
            print(MembersCommand.columnize(table), terminator: "")
        }
    }

    struct NodeRow {
        var node, id, address, datacenter: String
        var taggedAddresses, meta: [(String, String)]

        init?(_ v: JSONValue) {
            guard let node = v["Node"]?.stringValue else { return nil }
            self.node = node
            id = v["ID"]?.stringValue ?? ""
            address = v["Address"]?.stringValue ?? ""
            datacenter = v["Datacenter"]?.stringValue ?? ""
            taggedAddresses = Self.map(v["TaggedAddresses"])
            meta = Self.map(v["Meta"] ?? v["NodeMeta"])
        }

        static func map(_ v: JSONValue?) -> [(String, String)] {
            (v?.objectValue ?? []).map { ($0.0, $0.1.stringValue ?? "") }.sorted { $0.0 < $1.0 }
        }
    }

    /// `k=v, k=v` with sorted keys, as Consul's mapToKV.
    static func keyValues(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    }

    static let serviceSpecs = AgentClient.flagSpecs + [
        .init("tags", .bool, "Show each service's tags."),
        .init("node", .string, "Only services registered on the named node."),
    ]

    static func services(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: serviceSpecs, usage: "fedagent catalog services [options]",
                             synopsis: "Lists all registered services in a datacenter") { client, flags in
            try Subcommands.noArguments(flags)
            let all = try Subcommands.fetch(client, "/v1/catalog/services", "Error listing services")
            var services: [String: [String]] = [:]
            for (name, tags) in all.objectValue ?? [] { services[name] = (tags.arrayValue ?? []).compactMap(\.stringValue) }
            if let node = flags.string("node") {
                services = try onNode(client, node, names: services.keys.sorted())
            }
            guard !services.isEmpty else {
                printError("No services match the given query - try expanding your search.")
                return
            }
            let names = services.keys.sorted()
            guard flags.bool("tags") else {
                for name in names { print(name) }
                return
            }
            // Consul's tabwriter: padding 6 between the name and its tags.
            let width = names.map(\.count).max() ?? 0
            for name in names {
                let tags = Set(services[name] ?? []).sorted().joined(separator: ",")
                let line = tags.isEmpty ? name : name + String(repeating: " ", count: width - name.count + 6) + tags
                print(line)
            }
        }
    }

    /// The agent has no /v1/catalog/node/:node yet, so the node's services
    /// are gathered from /v1/catalog/service/:name for every service name.
    static func onNode(_ client: AgentClient, _ node: String, names: [String]) throws(AgentClient.Failure) -> [String: [String]] {
        let nodes = try Subcommands.fetch(client, "/v1/catalog/nodes", "Error listing services for node")
        guard (nodes.arrayValue ?? []).contains(where: { $0["Node"]?.stringValue == node }) else {
            return [:]
        }
        var result: [String: [String]] = [:]
        for name in names {
            let entries = try Subcommands.fetch(client, "/v1/catalog/service/\(pathEscape(name))", "Error listing services for node")
            for entry in entries.arrayValue ?? [] where entry["Node"]?.stringValue == node {
                result[name, default: []] += (entry["ServiceTags"]?.arrayValue ?? []).compactMap(\.stringValue)
            }
        }
        return result
    }
}

/// Commands with subcommands (`catalog`, `services`): dispatch and help.
enum Subcommands {
    typealias Entry = (name: String, synopsis: String, run: @Sendable ([String]) -> Int32)

    static func run(_ command: String, _ synopsis: String, _ entries: [Entry], _ arguments: [String]) -> Int32 {
        let width = entries.map(\.name.count).max() ?? 0
        let help = "Usage: fedagent \(command) <subcommand> [options] [args]\n\n  \(synopsis).\n\nSubcommands:\n"
            + entries.map { "    " + $0.name + String(repeating: " ", count: width - $0.name.count + 4) + $0.synopsis }
                .joined(separator: "\n")
        guard let first = arguments.first else {
            printError(help)
            return 1
        }
        if ["-h", "-help", "--help", "help"].contains(first) {
            print(help)
            return 0
        }
        guard let entry = entries.first(where: { $0.name == first }) else {
            printError("fedagent \(command): unknown subcommand \"\(first)\"\n\n" + help)
            return 1
        }
        return entry.run(Array(arguments.dropFirst()))
    }

    static func noArguments(_ flags: CommandLineFlags) throws(AgentClient.Failure) {
        guard flags.positional.isEmpty else {
            throw AgentClient.Failure(description: "Too many arguments (expected 0, got \(flags.positional.count))")
        }
    }

    /// GET `path` as JSON; failures read "`prefix`: reason", as Consul's.
    static func fetch(_ client: AgentClient, _ path: String, _ prefix: String) throws(AgentClient.Failure) -> JSONValue {
        do {
            return try client.callJSON("GET", path)
        } catch {
            throw AgentClient.Failure(description: "\(prefix): \(error.description)")
        }
    }
}
