import Agent
import Glibc
import JSON

/// `fedagent members`: the pool as `consul members` prints it.
enum MembersCommand {
    static let synopsis = "Lists the members of the pool"
    static let specs = AgentClient.flagSpecs + [
        .init("wan", .bool, "List the WAN pool's members (servers, as node.dc)."),
        .init("detailed", .bool, "Show every tag of each member."),
        .init("status", .string, "Only members whose status matches this regular expression."),
        .init("segment", .string, "Only members of this network segment."),
    ]

    static func run(_ arguments: [String]) -> Int32 {
        do {
            let flags = try CommandLineFlags(arguments, specs: specs)
            if flags.wantsHelp {
                print("Usage: fedagent members [options]\n\n  \(synopsis).\n\nOptions:\n\n" + CommandLineFlags.usage(specs))
                return 0
            }
            let client = try AgentClient(flags: flags)
            var filter: POSIXRegex?
            if let pattern = flags.string("status") {
                guard let re = POSIXRegex(pattern) else {
                    printError("Failed to compile status regexp: \(pattern)")
                    return 1
                }
                filter = re
            }
            let json = try client.callJSON("GET", flags.bool("wan") ? "/v1/agent/members?wan=1" : "/v1/agent/members")
            var rows = (json.arrayValue ?? []).compactMap(Row.init)
            rows.sort { $0.name < $1.name }
            if let filter { rows = rows.filter { filter.matches($0.status) } }
            if let segment = flags.string("segment") { rows = rows.filter { ($0.tags["segment"] ?? "") == segment } }
            guard !rows.isEmpty else { return 2 }
            print(flags.bool("detailed") ? detailed(rows) : standard(rows), terminator: "")
            return 0
        } catch {
            printError("\(error)")
            return 1
        }
    }

    struct Row {
        var name: String
        var address: String
        var status: String
        var tags: [String: String]

        init?(_ v: JSONValue) {
            guard let name = v["Name"]?.stringValue, let addr = v["Addr"]?.stringValue else { return nil }
            let port = v["Port"]?.intValue ?? 0
            self.name = name
            address = addr.contains(":") ? "[\(addr)]:\(port)" : "\(addr):\(port)"
            let code = v["Status"]?.intValue ?? 0
            status = MemberInfo.Status(rawValue: code)?.word ?? "unknown"
            var tags: [String: String] = [:]
            for (k, value) in v["Tags"]?.objectValue ?? [] { tags[k] = value.stringValue ?? "" }
            self.tags = tags
        }
    }

    static func standard(_ rows: [Row]) -> String {
        var table = [["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]]
        for r in rows {
            var build = r.tags["build"] ?? "< 0.3"
            if let colon = build.firstIndex(of: ":") { build = String(build[..<colon]) }
            let kind: String
            var segment = r.tags["segment"] ?? ""
            switch r.tags["role"] {
            case "consul":
                kind = "server"
                if segment.isEmpty { segment = "<all>" }
            case "node":
                kind = "client"
                if segment.isEmpty { segment = "<default>" }
            default:
                kind = "unknown"
            }
            let partition = (r.tags["ap"] ?? "").isEmpty ? "default" : r.tags["ap"] ?? "default"
            table.append([r.name, r.address, r.status, kind, build, r.tags["vsn"] ?? "", r.tags["dc"] ?? "",
                          partition, segment])
        }
        return columnize(table)
    }

    static func detailed(_ rows: [Row]) -> String {
        var table = [["Node", "Address", "Status", "Tags"]]
        for r in rows {
            let tags = r.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            table.append([r.name, r.address, r.status, tags])
        }
        return columnize(table)
    }

    /// Left-aligned columns joined by two spaces, as Consul's columnize.
    static func columnize(_ table: [[String]]) -> String {
        let columns = table.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in table { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in table {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            out += line + "\n"
        }
        return out
    }
}

/// POSIX extended regular expressions from libc (no Foundation needed).
final class POSIXRegex {
    private var compiled = regex_t()

    init?(_ pattern: String) {
        guard regcomp(&compiled, pattern, REG_EXTENDED | REG_NOSUB) == 0 else { return nil }
    }

    deinit { regfree(&compiled) }

    func matches(_ text: String) -> Bool { regexec(&compiled, text, 0, nil, 0) == 0 }
}
