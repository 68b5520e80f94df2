import Agent
import JSON

/// `join`, `leave`, `force-leave`: one HTTP call each to the local agent.
enum PoolCommands {
    static let joinSpecs = AgentClient.flagSpecs + [.init("wan", .bool, "Join the WAN pool (servers only).")]
    static let forceLeaveSpecs = AgentClient.flagSpecs + [
        .init("prune", .bool, "Remove the node from the member list at once."),
        .init("wan", .bool, "Act on the WAN pool."),
    ]

    static func join(_ arguments: [String]) -> Int32 {
        command(arguments, specs: joinSpecs, usage: "fedagent join [options] address ...",
                synopsis: "Tells the local agent to join the pool through the given addresses") { client, flags in
            guard !flags.positional.isEmpty else {
                throw AgentClient.Failure(description: "At least one address to join must be specified.")
            }
            var joined = 0
            var failures: [String] = []
            for address in flags.positional {
                do {
                    _ = try client.call("PUT", "/v1/agent/join/\(pathEscape(address))" + (flags.bool("wan") ? "?wan=1" : ""))
                    joined += 1
                } catch {
                    failures.append("\(address): \(error)")
                }
            }
            guard joined > 0 else {
                throw AgentClient.Failure(description: "Error joining address(es): \(failures.joined(separator: "; "))")
            }
            print("Successfully joined cluster by contacting \(joined) nodes.")
        }
    }

    static func leave(_ arguments: [String]) -> Int32 {
        command(arguments, specs: AgentClient.flagSpecs, usage: "fedagent leave [options]",
                synopsis: "Tells the local agent to leave the pool gracefully and shut down") { client, _ in
            _ = try client.call("PUT", "/v1/agent/leave")
            print("Graceful leave complete")
        }
    }

    static func forceLeave(_ arguments: [String]) -> Int32 {
        command(arguments, specs: forceLeaveSpecs, usage: "fedagent force-leave [options] name",
                synopsis: "Marks a failed member as left") { client, flags in
            guard flags.positional.count == 1 else {
                throw AgentClient.Failure(description: "A single node name must be specified to force leave.")
            }
            var query: [String] = []
            if flags.bool("prune") { query.append("prune=1") }
            if flags.bool("wan") { query.append("wan=1") }
            let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
            _ = try client.call("PUT", "/v1/agent/force-leave/\(pathEscape(flags.positional[0]))" + suffix)
        }
    }

    /// Parses flags, prints help on `-h`, runs `body` with a client of the
    /// local agent, maps errors to exit 1.
    static func command(_ arguments: [String], specs: [CommandLineFlags.Spec], usage: String, synopsis: String,
                        stopAtPositional: Bool = false,
                        _ body: (AgentClient, CommandLineFlags) throws -> Void) -> Int32 {
        local(arguments, specs: specs, usage: usage, synopsis: synopsis, stopAtPositional: stopAtPositional) { flags in
            try body(try AgentClient(flags: flags), flags)
        }
    }

    /// The same for commands that need no agent; errors get `errorPrefix`.
    static func local(_ arguments: [String], specs: [CommandLineFlags.Spec], usage: String, synopsis: String,
                      errorPrefix: String = "", stopAtPositional: Bool = false,
                      _ body: (CommandLineFlags) throws -> Void) -> Int32 {
        do {
            let flags = try CommandLineFlags(arguments, specs: specs, stopAtPositional: stopAtPositional)
            if flags.wantsHelp {
                print("Usage: \(usage)\n\n  \(synopsis).\n\nOptions:\n\n" + CommandLineFlags.usage(specs))
                return 0
            }
            try body(flags)
            return 0
        } catch {
            printError(errorPrefix + "\(error)")
            return 1
        }
    }
}

extension PoolCommands {
    /// `fedagent reload`: the agent re-reads its configuration files.
    static func reload(_ arguments: [String]) -> Int32 {
        command(arguments, specs: AgentClient.flagSpecs, usage: "fedagent reload [options]",
                synopsis: "Triggers the agent to reload its configuration files") { client, _ in
            let body = try client.call("PUT", "/v1/agent/reload")
            print("Configuration reload triggered")
            if let report = try? JSONValue.parse(body) {
                for line in report["Applied"]?.arrayValue?.compactMap(\.stringValue) ?? [] { print("  applied: \(line)") }
                let restart = report["NeedsRestart"]?.arrayValue?.compactMap(\.stringValue) ?? []
                if !restart.isEmpty { print("  changed, needs a restart: \(restart.joined(separator: ", "))") }
            }
        }
    }
}
