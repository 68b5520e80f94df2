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
            var sections = stats
            // The metrics' key figures, from the last 10 s interval (an older agent may lack them).
            if let metrics = try? Subcommands.fetch(client, "/v1/agent/metrics", "Error querying metrics") {
                sections.append(("metrics", .object(keyFigures(metrics).map { ($0.0, .string($0.1)) })))
            }
            print(format(sections), terminator: "")
        }
    }

    /// What an operator looks at first: health scores, the process, and
    /// the last interval's traffic and member trouble.
    static func keyFigures(_ metrics: JSONValue) -> [(String, String)] {
        func named(_ list: String, _ suffix: String, label: String? = nil) -> [JSONValue] {
            (metrics[list]?.arrayValue ?? []).filter {
                ($0["Name"]?.stringValue ?? "").hasSuffix(suffix) && (label == nil || $0["Labels"]?["network"]?.stringValue == label)
            }
        }
        func gauge(_ suffix: String, label: String? = nil) -> Double? { named("Gauges", suffix, label: label).first?["Value"]?.doubleValue }
        func count(_ list: String, _ suffix: String) -> Int {
            named(list, suffix).reduce(0) { $0 + ($1["Count"]?.intValue ?? 0) }
        }
        func int(_ v: Double?) -> String { v.map { String(Int($0)) } ?? "-" }
        return [
            ("health_score_lan", int(gauge("memberlist.health.score", label: "lan"))),
            ("health_score_wan", int(gauge("memberlist.health.score", label: "wan"))),
            ("resident_mb", gauge("process_resident_memory_bytes").map { String(Int(($0 / 1_048_576).rounded())) } ?? "-"),
            ("open_fds", int(gauge("process_open_fds"))),
            ("threads", int(gauge("runtime.num_goroutines"))),
            ("http_requests_10s", String(count("Samples", "api.http"))),
            ("dns_queries_10s", String(count("Samples", "dns.domain_query"))),
            ("suspect_messages_10s", String(count("Counters", "memberlist.msg.suspect"))),
            ("members_failed_10s", String(count("Counters", "serf.member.failed"))),
        ]
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
