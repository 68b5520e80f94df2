import HTTPAPI
import JSON
import Membership

/// `fedagent rtt NODE [NODE]`: the round trip estimated from two nodes'
/// network coordinates, as `consul rtt` prints it. The second node is
/// the agent's own; `-wan` compares servers (`node.dc`) by WAN coordinates.
enum RTTCommand {
    static let synopsis = "Estimates network round trip time between nodes"
    static let specs = AgentClient.flagSpecs + [
        .init("wan", .bool, "Use WAN coordinates; nodes are named node.dc (servers)."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        PoolCommands.command(arguments, specs: specs, usage: "fedagent rtt [options] node1 [node2]",
                             synopsis: synopsis) { client, flags in
            var nodes = flags.positional
            guard (1...2).contains(nodes.count) else {
                throw AgentClient.Failure(description: "One or two node names must be specified")
            }
            let wan = flags.bool("wan")
            if nodes.count == 1 {
                let config = try Subcommands.fetch(client, "/v1/agent/self", "Unable to look up agent info")["Config"]
                let name = config?["NodeName"]?.stringValue ?? ""
                nodes.append(wan ? "\(name).\(config?["Datacenter"]?.stringValue ?? "")" : name)
            }
            let coordinates = wan ? try wanCoordinates(client, nodes) : try lanCoordinates(client, nodes)
            guard let first = coordinates[0] else {
                throw AgentClient.Failure(description: "Could not find a coordinate for node \"\(nodes[0])\"")
            }
            guard let second = coordinates[1] else {
                throw AgentClient.Failure(description: "Could not find a coordinate for node \"\(nodes[1])\"")
            }
            guard let seconds = first.distanceSeconds(to: second) else {
                throw AgentClient.Failure(description: "The coordinates of \"\(nodes[0])\" and \"\(nodes[1])\" are not comparable")
            }
            print("Estimated \(nodes[0]) <-> \(nodes[1]) rtt: \(milliseconds(seconds)) ms (using \(wan ? "WAN" : "LAN") coordinates)")
        }
    }

    static func lanCoordinates(_ client: AgentClient, _ nodes: [String]) throws(AgentClient.Failure) -> [Vivaldi.Coordinate?] {
        let entries = try Subcommands.fetch(client, "/v1/coordinate/nodes", "Error getting coordinates").arrayValue ?? []
        return nodes.map { node in coordinate(in: entries) { $0["Node"]?.stringValue == node } }
    }

    static func wanCoordinates(_ client: AgentClient, _ nodes: [String]) throws(AgentClient.Failure) -> [Vivaldi.Coordinate?] {
        var names: [(node: String, dc: String)] = []
        for node in nodes {
            guard let dot = node.lastIndex(of: "."), dot != node.startIndex, node.index(after: dot) != node.endIndex else {
                throw AgentClient.Failure(description: "Node names must be specified as <node name>.<datacenter> with -wan")
            }
            names.append((String(node[..<dot]), String(node[node.index(after: dot)...])))
        }
        let maps = try Subcommands.fetch(client, "/v1/coordinate/datacenters", "Error getting coordinates").arrayValue ?? []
        return names.map { name in
            let dc = maps.first { $0["Datacenter"]?.stringValue == name.dc }
            return coordinate(in: dc?["Coordinates"]?.arrayValue ?? []) { $0["Node"]?.stringValue == name.node }
        }
    }

    static func coordinate(in entries: [JSONValue], where matches: (JSONValue) -> Bool) -> Vivaldi.Coordinate? {
        guard let entry = entries.first(where: matches),
              case .success(let c) = ConsulAPI.parseCoordinate(entry["Coord"]) else { return nil }
        return c
    }

    /// Go's `%.3f` of the milliseconds.
    static func milliseconds(_ seconds: Double) -> String {
        let thousandths = Int((min(max(seconds, 0), 1e9) * 1e6).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
