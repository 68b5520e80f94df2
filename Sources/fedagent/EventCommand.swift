import Agent
import JSON

/// `fedagent event -name NAME [-node RE] [-service RE] [-tag RE] [payload]`:
/// fires a user event through the agent, as `consul event` does.
enum EventCommand {
    static let synopsis = "Fires a new user event"
    static let specs = AgentClient.flagSpecs + [
        .init("name", .string, "Name of the event (required)."),
        .init("node", .string, "Regular expression of the node names that should take the event."),
        .init("service", .string, "Regular expression of the services whose agents should take the event."),
        .init("tag", .string, "Regular expression of the tags of -service (needs -service)."),
        .init("datacenter", .string, "Datacenter to fire in (default: the agent's)."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent event [options] [payload]",
                             synopsis: synopsis) { client, flags in
            guard let name = flags.string("name"), !name.isEmpty else {
                throw AgentClient.Failure(description: "Event name must be specified")
            }
            guard flags.positional.count <= 1 else {
                throw AgentClient.Failure(description: "Too many command line arguments")
            }
            let event = UserEvent(id: "-", name: name, payload: Array((flags.positional.first ?? "").utf8),
                                  nodeFilter: flags.string("node") ?? "", serviceFilter: flags.string("service") ?? "",
                                  tagFilter: flags.string("tag") ?? "")
            if let why = event.validationError() { throw AgentClient.Failure(description: why) }
            var query: [String] = []
            for (key, value) in [("node", event.nodeFilter), ("service", event.serviceFilter),
                                 ("tag", event.tagFilter), ("dc", flags.string("datacenter") ?? "")] where !value.isEmpty {
                query.append(key + "=" + pathEscape(value))
            }
            let path = "/v1/event/fire/" + pathEscape(name) + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let answer = try client.call("PUT", path, body: event.payload)
            guard let id = (try? JSONValue.parse(answer))?["ID"]?.stringValue else {
                throw AgentClient.Failure(description: "Error firing event: the agent's answer has no ID")
            }
            print("Event ID: \(id)")
        }
    }
}
