// `dig` (Debian's bind9-dnsutils; scripts/test.sh installs it) run against a
// test agent's DNS port, with its output parsed: the header's status, id and
// flags, and the answer, authority and additional sections.

import Glibc
import Testing

/// One resource record line of dig's output: `name ttl class type data...`.
struct DigRecord: Equatable, CustomStringConvertible {
    let name: String
    let ttl: Int
    let type: String
    /// The record's data (rdata) split on whitespace: `[ip]` for A,
    /// `[priority, weight, port, target]` for SRV, the seven fields of SOA.
    let data: [String]

    var description: String { "\(name) \(ttl) \(type) \(data.joined(separator: " "))" }
}

/// What one `dig` run printed, parsed.
struct DigAnswer: CustomStringConvertible {
    let arguments: [String]
    let exit: ExitStatus
    let output: String
    /// NOERROR, NXDOMAIN, REFUSED...; nil when dig got no answer.
    let status: String?
    let id: Int?
    /// The header's flags: qr, aa, tc, rd, ra...
    let flags: Set<String>
    let answer: [DigRecord]
    let authority: [DigRecord]
    let additional: [DigRecord]

    var truncated: Bool { flags.contains("tc") }

    /// The data of every answer record of `type`, sorted.
    func answerData(_ type: String) -> [[String]] {
        answer.filter { $0.type == type }.map(\.data).sorted { $0.joined(separator: " ") < $1.joined(separator: " ") }
    }

    /// The addresses of the answer's A records, sorted.
    var addresses: [String] { answerData("A").compactMap(\.first).sorted() }

    /// The answer's SRV records as (priority, weight, port, target), sorted by target then port.
    var services: [SRV] {
        answer.filter { $0.type == "SRV" && $0.data.count == 4 }
            .map { SRV(priority: Int($0.data[0]) ?? -1, weight: Int($0.data[1]) ?? -1, port: Int($0.data[2]) ?? -1, target: $0.data[3]) }
            .sorted { ($0.target, $0.port) < ($1.target, $1.port) }
    }

    /// Name -> addresses of the additional section's A records.
    var additionalAddresses: [String: [String]] {
        Dictionary(grouping: additional.filter { $0.type == "A" }, by: \.name).mapValues { $0.compactMap(\.data.first).sorted() }
    }

    /// True when the authority section holds the SOA of `zone`.
    func hasSOA(_ zone: String) -> Bool {
        authority.contains { $0.type == "SOA" && $0.name == zone }
    }

    struct SRV: Equatable, CustomStringConvertible {
        let priority: Int
        let weight: Int
        let port: Int
        let target: String
        var description: String { "\(priority) \(weight) \(port) \(target)" }
    }

    var description: String {
        "dig \(arguments.joined(separator: " ")) -> \(exit), status \(status ?? "none"), flags \(flags.sorted()), "
            + "\(answer.count) answers\n\(output.prefix(6000))"
    }
}

enum Dig {
    /// dig's path: PATH first, then the usual directories; nil if absent.
    static let path: String? = {
        var directories: [String] = []
        if let value = getenv("PATH") {
            directories = String(cString: value).split(separator: ":").map(String.init)
        }
        directories += ["/usr/bin", "/bin", "/usr/local/bin"]
        return directories.lazy.map { $0 + "/dig" }.first { FileIO.isExecutable($0) }
    }()

    static let missing = """
        `dig` is not installed: it comes with Debian's bind9-dnsutils package \
        (scripts/test.sh installs it; or `apt-get install bind9-dnsutils`)
        """

    /// Parses dig's default (full) output.
    static func parse(_ output: String, arguments: [String], exit: ExitStatus) -> DigAnswer {
        var status: String?
        var id: Int?
        var flags: Set<String> = []
        var sections: [String: [DigRecord]] = [:]
        var section: String?
        for raw in output.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw).trimmingSpaces
            if line.isEmpty {
                section = nil
            } else if line.hasPrefix(";; ->>HEADER<<-") {
                status = field(line, "status:")
                id = field(line, "id:").flatMap { Int($0) }
            } else if line.hasPrefix(";; flags:") {
                let text = line.dropFirst(";; flags:".count).prefix { $0 != ";" }
                flags = Set(text.split(separator: " ").map(String.init))
            } else if line.hasPrefix(";; ") && line.hasSuffix(" SECTION:") {
                section = String(line.dropFirst(3).dropLast(" SECTION:".count))
            } else if let current = section, !line.hasPrefix(";") {
                let cells = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard cells.count >= 4, let ttl = Int(cells[1]) else { continue }
                sections[current, default: []].append(
                    DigRecord(name: cells[0], ttl: ttl, type: cells[3], data: Array(cells.dropFirst(4))))
            }
        }
        return DigAnswer(arguments: arguments, exit: exit, output: output, status: status, id: id, flags: flags,
                         answer: sections["ANSWER"] ?? [], authority: sections["AUTHORITY"] ?? [],
                         additional: sections["ADDITIONAL"] ?? [])
    }

    /// The value after `key` in a `key: value, key: value` line.
    private static func field(_ line: String, _ key: String) -> String? {
        guard let range = line.firstRange(of: key) else { return nil }
        let value = line[range.upperBound...].drop { $0 == " " }.prefix { $0 != "," && $0 != " " }
        return value.isEmpty ? nil : String(value)
    }

    /// Consul's `<hex>.addr` label for an IPv4 address: 8 lower-case hex digits.
    static func hexLabel(_ ipv4: String) -> String {
        let digits = Array("0123456789abcdef")
        return ipv4.split(separator: ".").compactMap { UInt8($0) }
            .map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xf)]]) }.joined()
    }
}

extension Harness {
    /// `dig @agent -p dnsPort +time=2 +tries=2 options... name type`, parsed.
    /// Records a failure naming bind9-dnsutils and stops the test if dig is
    /// not installed.
    func dig(_ agent: TestAgent, _ name: String, _ type: String = "A", _ options: [String] = [],
             sourceLocation: SourceLocation = #_sourceLocation) throws -> DigAnswer {
        guard let path = Dig.path else { throw fail(Dig.missing, sourceLocation: sourceLocation) }
        let arguments = ["@\(agent.ip)", "-p", "\(agent.ports.dns)", "+time=2", "+tries=2"] + options + [name, type]
        let result = try run(path, arguments, label: "dig", timeout: 30, sourceLocation: sourceLocation)
        return Dig.parse(result.stdout, arguments: arguments, exit: result.status)
    }
}
