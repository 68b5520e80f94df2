/// Consul-style flag parsing: `-flag value`, `-flag=value`, `--flag`,
/// booleans as `-dev` or `-dev=true`, repeatable list flags. Anything
/// unknown or malformed is a one-line error naming the flag.
public struct CommandLineFlags: Sendable {
    public enum Kind: Sendable { case bool, string, list }

    public struct Spec: Sendable {
        public let name: String
        public let kind: Kind
        public let help: String
        public init(_ name: String, _ kind: Kind, _ help: String) {
            self.name = name
            self.kind = kind
            self.help = help
        }
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public private(set) var values: [String: [String]] = [:]
    public private(set) var positional: [String] = []
    /// `-h`, `-help` or `--help` was given.
    public private(set) var wantsHelp = false

    /// `stopAtPositional`: as Go's flag package, the first argument that is
    /// not a flag ends the flags (`watch`'s handler keeps its own options).
    public init(_ arguments: [String], specs: [Spec], stopAtPositional: Bool = false) throws(ParseError) {
        let byName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard arg.hasPrefix("-"), arg != "-" else {
                positional.append(arg)
                if stopAtPositional {
                    positional.append(contentsOf: arguments[i...])
                    break
                }
                continue
            }
            if arg == "--" {
                positional.append(contentsOf: arguments[i...])
                break
            }
            var body = arg.dropFirst(arg.hasPrefix("--") ? 2 : 1)
            var inline: String?
            if let eq = body.firstIndex(of: "=") {
                inline = String(body[body.index(after: eq)...])
                body = body[..<eq]
            }
            let name = String(body)
            if name == "h" || name == "help" {
                wantsHelp = true
                continue
            }
            guard let spec = byName[name] else {
                throw ParseError(description: "flag provided but not defined: -\(name)")
            }
            switch spec.kind {
            case .bool:
                switch inline?.lowercased() {
                case nil, "true", "1": values[name] = ["true"]
                case "false", "0": values[name] = ["false"]
                default: throw ParseError(description: "invalid boolean value \"\(inline ?? "")\" for -\(name)")
                }
            case .string, .list:
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard i < arguments.count else { throw ParseError(description: "flag needs an argument: -\(name)") }
                    value = arguments[i]
                    i += 1
                }
                if spec.kind == .list { values[name, default: []].append(value) } else { values[name] = [value] }
            }
        }
    }

    public func bool(_ name: String) -> Bool { values[name]?.last == "true" }
    public func string(_ name: String) -> String? { values[name]?.last }
    public func list(_ name: String) -> [String] { values[name] ?? [] }
    public func has(_ name: String) -> Bool { values[name] != nil }

    /// A port flag: 1–65535 (0 is allowed where `allowZero`, meaning "off").
    public func port(_ name: String, default value: UInt16, allowZero: Bool = false) throws(ParseError) -> UInt16 {
        guard let text = string(name) else { return value }
        guard let n = Int(text), n >= (allowZero ? 0 : 1), n <= 65535 else {
            throw ParseError(description: "invalid value \"\(text)\" for -\(name): not a port number")
        }
        return UInt16(n)
    }

    /// Help text: one line per flag.
    public static func usage(_ specs: [Spec]) -> String {
        specs.map { spec in
            let arg = spec.kind == .bool ? "" : " <value>"
            return "  -\(spec.name)\(arg)\n      \(spec.help)\(spec.kind == .list ? " (repeatable)" : "")"
        }.joined(separator: "\n")
    }
}
