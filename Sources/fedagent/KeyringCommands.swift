import Agent
import Crypto
import JSON
import Membership

/// `fedagent keygen` and `fedagent keyring`, as consul's.
enum KeyringCommands {
    static let keygenSynopsis = "Generates a new gossip encryption key"
    static let keyringSynopsis = "Manages gossip layer encryption keys"

    static func keygen(_ arguments: [String]) -> Int32 {
        guard arguments.isEmpty else {
            printError("Usage: fedagent keygen\n\n  \(keygenSynopsis): base64 of 32 random bytes (AES-256).")
            return arguments.allSatisfy({ ["-h", "-help", "--help"].contains($0) }) ? 0 : 1
        }
        guard let bytes = SecureRandom.bytes(32) else {
            printError("Error reading random data")
            return 1
        }
        print(Base64.encode(bytes))
        return 0
    }

    static let specs = AgentClient.flagSpecs + [
        .init("install", .string, "Installs KEY on every member of the pools."),
        .init("use", .string, "Makes KEY the primary key of every member (it must be installed)."),
        .init("remove", .string, "Removes KEY from every member (never the primary)."),
        .init("list", .bool, "Lists the installed keys and how many members hold each."),
        .init("list-primary", .bool, "Lists the primary keys and how many members use each."),
        .init("local-only", .bool, "With -list: only this agent's own keys."),
    ]

    static func keyring(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent keyring [options]", synopsis: keyringSynopsis) { client, flags in
            try Subcommands.noArguments(flags)
            let chosen = ["install", "use", "remove", "list", "list-primary"].filter { flags.has($0) }
            guard chosen.count == 1 else {
                throw AgentClient.Failure(description: "Exactly one of -install, -use, -remove, -list or -list-primary must be given.")
            }
            switch chosen[0] {
            case "list", "list-primary":
                let primary = chosen[0] == "list-primary"
                print(primary ? "==> Gathering installed primary encryption keys..." : "==> Gathering installed encryption keys...")
                let list = try Subcommands.fetch(client, "/v1/operator/keyring" + (flags.bool("local-only") ? "?local-only=1" : ""),
                                                 "Error listing keys")
                print(format(list, primary: primary), terminator: "")
            default:
                let key = flags.string(chosen[0]) ?? ""
                if case .failure(let error) = Keyring.parseKey(key) { throw AgentClient.Failure(description: "Invalid key: \(error)") }
                let (method, words) = chosen[0] == "install" ? ("POST", "Installing new gossip encryption key...")
                    : chosen[0] == "use" ? ("PUT", "Changing primary gossip encryption key...")
                    : ("DELETE", "Removing gossip encryption key...")
                print("==> \(words)")
                var w = JSONWriter(pretty: false)
                w.beginObject()
                w.field("Key", key)
                w.endObject()
                _ = try client.call(method, "/v1/operator/keyring", body: w.bytes)
            }
        }
    }

    /// Consul's layout: a block per pool, each key with `[holders/members]`.
    static func format(_ list: JSONValue, primary: Bool) -> String {
        var out = ""
        for pool in list.arrayValue ?? [] {
            let wan = pool["WAN"]?.boolValue ?? false
            let total = pool["NumNodes"]?.intValue ?? 0
            out += "\n" + (wan ? "WAN" : "\(pool["Datacenter"]?.stringValue ?? "") (LAN)") + ":\n"
            for (key, count) in pool[primary ? "PrimaryKeys" : "Keys"]?.objectValue ?? [] {
                out += "  \(key) [\(count.intValue ?? 0)/\(total)]\n"
            }
            for (node, message) in pool["Messages"]?.objectValue ?? [] {
                out += "  \(node): \(message.stringValue ?? "")\n"
            }
        }
        return out
    }
}
