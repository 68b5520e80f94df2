import Agent
import Glibc

/// The fedagent command line: `fedagent <command> [options]`, as consul's.
let commands: [(name: String, synopsis: String, run: @Sendable ([String]) -> Int32)] = [
    ("agent", AgentCommand.synopsis, AgentCommand.run),
    ("members", MembersCommand.synopsis, MembersCommand.run),
    ("join", "Tells the local agent to join the pool", PoolCommands.join),
    ("leave", "Gracefully leaves the pool and shuts the agent down", PoolCommands.leave),
    ("force-leave", "Forces a failed member into the left state", PoolCommands.forceLeave),
    ("reload", "Triggers the agent to reload its configuration files", PoolCommands.reload),
    ("catalog", CatalogCommands.synopsis, CatalogCommands.run),
    ("services", ServicesCommands.synopsis, ServicesCommands.run),
    ("info", InfoCommand.synopsis, InfoCommand.run),
    ("rtt", RTTCommand.synopsis, RTTCommand.run),
    ("event", EventCommand.synopsis, EventCommand.run),
    ("watch", WatchCommand.synopsis, WatchCommand.run),
    ("monitor", MonitorCommand.synopsis, MonitorCommand.run),
    ("keygen", KeyringCommands.keygenSynopsis, KeyringCommands.keygen),
    ("keyring", KeyringCommands.keyringSynopsis, KeyringCommands.keyring),
    ("tls", TLSCommands.synopsis, TLSCommands.run),
    ("probe", ProbeCommand.synopsis, ProbeCommand.run),
    ("version", "Prints the fedagent version", { _ in
        print("fedagent v\(FedagentVersion.version)")
        print("Protocol \(FedagentVersion.protocolVersion) spoken by default, understands \(FedagentVersion.protocolMin) to \(FedagentVersion.protocolMax)")
        return 0
    }),
]

func usage(_ commands: [(name: String, synopsis: String, run: @Sendable ([String]) -> Int32)]) -> String {
    let width = commands.map(\.name.count).max() ?? 0
    let lines = commands.map { "    " + $0.name + String(repeating: " ", count: width - $0.name.count + 4) + $0.synopsis }
    return "Usage: fedagent [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n" + lines.joined(separator: "\n")
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let first = arguments.first else {
    printError(usage(commands))
    exit(1)
}
switch first {
case "-h", "-help", "--help", "help":
    print(usage(commands))
    exit(0)
case "-v", "-version", "--version":
    exit(commands.first { $0.name == "version" }?.run([]) ?? 0)
default:
    guard let command = commands.first(where: { $0.name == first }) else {
        printError("fedagent: unknown command \"\(first)\"\n\n" + usage(commands))
        exit(1)
    }
    exit(command.run(Array(arguments.dropFirst())))
}
