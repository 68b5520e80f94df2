import JSON

/// The subset of HCL that ACL policies are written in, read into the same
/// shape as their JSON form so one interpreter serves both:
///
///     service_prefix "web" { policy = "read" }   →  {"service_prefix": {"web": {"policy": "read"}}}
///     operator = "read"                           →  {"operator": "read"}
///
/// Blocks with one label, `key = value` (strings, numbers, true/false),
/// `#`, `//` and `/* */` comments, optional commas. Anything else is an
/// error with its line, never a guess.
public enum HCLRules {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Rules text above this size is refused (Consul's limit is larger, but a
    /// policy is a few hundred bytes).
    public static let sizeLimit = 64 << 10

    public static func parse(_ text: String) throws(Failure) -> JSONValue {
        guard text.utf8.count <= sizeLimit else { throw Failure(description: "rules larger than \(sizeLimit >> 10) KiB") }
        var parser = Parser(Array(text.utf8))
        let body = try parser.body(depth: 0)
        guard parser.atEnd else { throw parser.fail("unexpected '}'") }
        return body
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool {
            mutating get {
                skipTrivia()
                return index >= bytes.count
            }
        }

        func fail(_ why: String) -> Failure { Failure(description: "rules line \(line): \(why)") }

        /// Items until `}` or the end; blocks of one kind merge by label.
        mutating func body(depth: Int) throws(Failure) -> JSONValue {
            guard depth < 8 else { throw fail("blocks nested too deep") }
            var members: [(String, JSONValue)] = []
            func set(_ key: String, _ value: JSONValue) {
                if let i = members.firstIndex(where: { $0.0 == key }) { members[i].1 = value } else { members.append((key, value)) }
            }
            while true {
                skipTrivia()
                guard index < bytes.count, bytes[index] != UInt8(ascii: "}") else { return .object(members) }
                let name = try identifier()
                skipTrivia()
                guard index < bytes.count else { throw fail("\(name) has no value") }
                if bytes[index] == UInt8(ascii: "=") {
                    index += 1
                    set(name, try value())
                } else if bytes[index] == UInt8(ascii: "\"") {
                    let label = try string()
                    skipTrivia()
                    try expect("{", after: "\(name) \"\(label)\"")
                    let inner = try body(depth: depth + 1)
                    try expect("}", after: "the block \(name) \"\(label)\"")
                    var labelled = members.first(where: { $0.0 == name })?.1.objectValue ?? []
                    if let i = labelled.firstIndex(where: { $0.0 == label }) { labelled[i].1 = inner } else { labelled.append((label, inner)) }
                    set(name, .object(labelled))
                } else {
                    throw fail("expected '=' or a quoted name after \(name)")
                }
                skipTrivia()
                if index < bytes.count, bytes[index] == UInt8(ascii: ",") { index += 1 }
            }
        }

        mutating func expect(_ c: Character, after what: String) throws(Failure) {
            skipTrivia()
            guard index < bytes.count, bytes[index] == c.asciiValue else { throw fail("expected '\(c)' after \(what)") }
            index += 1
        }

        mutating func identifier() throws(Failure) -> String {
            let start = index
            while index < bytes.count, Self.isIdentifier(bytes[index]) { index += 1 }
            guard index > start else { throw fail("expected a name, found '\(Character(Unicode.Scalar(bytes[index])))'") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func value() throws(Failure) -> JSONValue {
            skipTrivia()
            guard index < bytes.count else { throw fail("missing value") }
            if bytes[index] == UInt8(ascii: "\"") { return .string(try string()) }
            let word = try identifier()
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default:
                guard let n = Double(word) else { throw fail("expected a quoted string, a number or true/false, not \(word)") }
                return .number(n)
            }
        }

        mutating func string() throws(Failure) -> String {
            index += 1  // the opening quote
            var out: [UInt8] = []
            while index < bytes.count {
                let b = bytes[index]
                index += 1
                switch b {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\n"): throw fail("a string does not end on its line")
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw fail("a string ends in a backslash") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                    default: throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))")
                    }
                default: out.append(b)
                }
            }
            throw fail("a string is not closed")
        }

        mutating func skipTrivia() {
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\n") {
                    line += 1
                    index += 1
                } else if b == 0x20 || b == 0x09 || b == 0x0D {
                    index += 1
                } else if b == UInt8(ascii: "#") || (b == UInt8(ascii: "/") && next == UInt8(ascii: "/")) {
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                } else if b == UInt8(ascii: "/") && next == UInt8(ascii: "*") {
                    index += 2
                    while index < bytes.count, !(bytes[index] == UInt8(ascii: "*") && next == UInt8(ascii: "/")) {
                        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
                        index += 1
                    }
                    index = min(bytes.count, index + 2)
                } else {
                    return
                }
            }
        }

        private var next: UInt8? { index + 1 < bytes.count ? bytes[index + 1] : nil }

        static func isIdentifier(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
        }
    }
}
