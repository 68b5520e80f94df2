import Agent
import JSON

/// `fedagent info`: the agent's `Stats` from /v1/agent/self, printed as
/// `consul info` does (sections and keys sorted, `\tkey = value`). Only
/// what the agent reports is shown; no sections are invented.
enum InfoCommand {
    static let synopsis = "Provides debugging information for operators"

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: AgentClient.flagSpecs, usage: "fedagent info [options]",
                             synopsis: synopsis) { client, flags in
            try Subcommands.noArguments(flags)
            let json = try Subcommands.fetch(client, "/v1/agent/self", "Error querying agent")
            guard let stats = json["Stats"]?.objectValue else {
                throw AgentClient.Failure(description: "Error querying agent: no Stats in /v1/agent/self")
            }
            print(format(stats), terminator: "")
        }
    }

    static func format(_ stats: [(String, JSONValue)]) -> String {
        var out = ""
        for (section, values) in stats.sorted(by: { $0.0 < $1.0 }) {
            out += "\(section):\n"
            for (key, value) in (values.objectValue ?? []).sorted(by: { $0.0 < $1.0 }) {
                out += "\t\(key) = \(text(value))\n"
            }
        }
        return out
    }

    /// Stats values are strings in Consul; anything else prints as JSON.
    static func text(_ value: JSONValue) -> String {
        if let s = value.stringValue { return s }
        return value.serializedString()
    }
}
