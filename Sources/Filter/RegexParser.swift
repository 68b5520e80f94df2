/// A regular expression's syntax tree. Groups leave no node: a match is a
/// yes or no, so captures (and greedy versus lazy repetition) make no
/// difference to the answer.
indirect enum RegexNode: Sendable {
    case empty
    case literal(Unicode.Scalar, foldCase: Bool)
    case anyScalar(matchesNewline: Bool)
    /// An index into the parser's `sets`, so a repeated class is stored once.
    case set(Int)
    case assertion(RegexAssertion)
    case concat([RegexNode])
    case alternate([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?)
}

enum RegexAssertion: Sendable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
}

/// Parses RE2 syntax (Go's `regexp`, with its Perl flags): literals, `.`,
/// classes (`[a-z]`, `[^...]`, `[[:alpha:]]`, `\d \w \s \pL \p{Lu}` and
/// their negations), anchors `^ $ \A \z \b \B`, groups `(...)`, `(?:...)`,
/// `(?P<name>...)`, flags `(?imsU)` and `(?i:...)`, alternation, and the
/// quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy; counts up to 1000,
/// as RE2 allows). Backreferences and lookaround, which a linear-time
/// matcher cannot offer, are refused by name. Nesting is bounded, so the
/// recursion cannot exhaust the stack.
struct RegexParser {
    static let maxDepth = 64
    static let maxRepeat = 1000

    struct Flags {
        var caseInsensitive = false
        var multiLine = false
        var dotMatchesNewline = false
    }

    let scalars: [Unicode.Scalar]
    var position = 0
    var flags = Flags()
    var sets: [RegexCharSet] = []

    init(_ pattern: String) { scalars = Array(pattern.unicodeScalars) }

    mutating func parse() throws(LinearRegex.Failure) -> RegexNode {
        let node = try alternation(depth: 0)
        if position < scalars.count { throw error("unexpected )") }
        return node
    }

    func error(_ message: String) -> LinearRegex.Failure {
        LinearRegex.Failure(description: message)
    }

    func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        let index = position + ahead
        return index < scalars.count ? scalars[index] : nil
    }

    // MARK: - Structure

    private mutating func alternation(depth: Int) throws(LinearRegex.Failure) -> RegexNode {
        var branches = [try concatenation(depth: depth)]
        while peek() == "|" {
            position += 1
            branches.append(try concatenation(depth: depth))
        }
        return branches.count == 1 ? branches[0] : .alternate(branches)
    }

    private mutating func concatenation(depth: Int) throws(LinearRegex.Failure) -> RegexNode {
        var items: [RegexNode] = []
        while let next = peek(), next != "|", next != ")" {
            guard let atom = try atom(depth: depth) else { continue }   // a flag group: no node
            items.append(try quantified(atom))
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    /// Applies a quantifier after `atom`, if one follows.
    private mutating func quantified(_ atom: RegexNode) throws(LinearRegex.Failure) -> RegexNode {
        let start = position
        guard let bounds = try quantifier() else { return atom }
        if peek() == "?" { position += 1 }   // lazy: the same yes or no
        if try peekQuantifier() {
            throw error("invalid nested repetition operator: `\(text(from: start))`")
        }
        return .repeated(atom, min: bounds.min, max: bounds.max)
    }

    /// Consumes `*`, `+`, `?` or a well-formed `{n}`, `{n,}`, `{n,m}`.
    private mutating func quantifier() throws(LinearRegex.Failure) -> (min: Int, max: Int?)? {
        switch peek() {
        case "*": position += 1; return (0, nil)
        case "+": position += 1; return (1, nil)
        case "?": position += 1; return (0, 1)
        case "{": return try repeatCounts()
        default: return nil
        }
    }

    private mutating func peekQuantifier() throws(LinearRegex.Failure) -> Bool {
        let save = position
        defer { position = save }
        return try quantifier() != nil
    }

    /// `{n}`, `{n,}` or `{n,m}`; nil (consuming nothing) when the brace is
    /// not one, since RE2 then reads `{` as a literal.
    private mutating func repeatCounts() throws(LinearRegex.Failure) -> (min: Int, max: Int?)? {
        let start = position
        position += 1
        guard let low = number() else {
            position = start
            return nil
        }
        var high: Int? = low
        if peek() == "," {
            position += 1
            high = number()
        }
        guard peek() == "}" else {
            position = start
            return nil
        }
        position += 1
        if low > Self.maxRepeat || (high ?? 0) > Self.maxRepeat || (high.map { $0 < low } ?? false) {
            throw error("invalid repeat count: `\(text(from: start))`")
        }
        return (low, high)
    }

    /// Decimal digits, clamped above `maxRepeat` so they cannot overflow.
    private mutating func number() -> Int? {
        var value: Int?
        while let digit = peek(), digit.value >= 0x30, digit.value <= 0x39 {
            value = min((value ?? 0) * 10 + Int(digit.value - 0x30), Self.maxRepeat + 1)
            position += 1
        }
        return value
    }

    func text(from start: Int) -> String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[start..<min(position, scalars.count)])
        return String(result)
    }

    // MARK: - Atoms

    /// One atom, or nil for a flag group such as `(?i)`.
    private mutating func atom(depth: Int) throws(LinearRegex.Failure) -> RegexNode? {
        guard let next = peek() else { return .empty }
        switch next {
        case "(":
            return try group(depth: depth)
        case "[":
            return .set(try bracketClass())
        case ".":
            position += 1
            return .anyScalar(matchesNewline: flags.dotMatchesNewline)
        case "^":
            position += 1
            return .assertion(flags.multiLine ? .beginLine : .beginText)
        case "$":
            position += 1
            return .assertion(flags.multiLine ? .endLine : .endText)
        case "\\":
            return try escapeAtom()
        case "*", "+", "?":
            throw error("missing argument to repetition operator: `\(next)`")
        case "{":
            let start = position
            if try repeatCounts() != nil { throw error("missing argument to repetition operator: `\(text(from: start))`") }
            position += 1
            return literal(next)
        default:
            position += 1
            return literal(next)
        }
    }

    func literal(_ scalar: Unicode.Scalar) -> RegexNode {
        .literal(scalar, foldCase: flags.caseInsensitive && RegexCharSet.hasCase(scalar))
    }

    private mutating func group(depth: Int) throws(LinearRegex.Failure) -> RegexNode? {
        let start = position
        position += 1
        guard depth < Self.maxDepth else { throw error("expression nests too deeply (more than \(Self.maxDepth) groups)") }
        let saved = flags
        if peek() == "?" {
            position += 1
            switch peek() {
            case "=", "!":
                throw error("lookahead is not supported: `\(text(from: start))`")
            case "<" where peek(1) == "=" || peek(1) == "!":
                throw error("lookbehind is not supported: `(?<\(peek(1).map(String.init) ?? "")`")
            case "P" where peek(1) == "=":
                throw error("backreferences are not supported: `(?P=`")
            case "P", "<":
                if peek() == "P" { position += 1 }
                try groupName()
            case ":":
                position += 1
            default:
                if try flagGroup() { return nil }   // `(?i)`: flags for the rest of the enclosing group
            }
        }
        let inner = try alternation(depth: depth + 1)
        guard peek() == ")" else { throw error("missing closing ): `\(text(from: start))`") }
        position += 1
        flags = saved
        return inner
    }

    /// `<name>` of a named group: word characters.
    private mutating func groupName() throws(LinearRegex.Failure) {
        guard peek() == "<" else { throw error("invalid or unsupported Perl syntax: `(?\(peek().map(String.init) ?? "")`") }
        position += 1
        var length = 0
        while let next = peek(), next != ">" {
            guard next.isASCII, next.properties.isAlphabetic || next == "_" || ("0"..."9").contains(next) else {
                throw error("invalid named capture")
            }
            position += 1
            length += 1
        }
        guard peek() == ">", length > 0 else { throw error("invalid named capture") }
        position += 1
    }

    /// `imsU` flags, optionally negated after `-`, ending in `)` (true: a
    /// flag group, flags changed in place) or `:` (false: a group follows).
    private mutating func flagGroup() throws(LinearRegex.Failure) -> Bool {
        var negate = false
        var sawFlag = false
        var updated = flags
        while let next = peek() {
            position += 1
            switch next {
            case "i": updated.caseInsensitive = !negate; sawFlag = true
            case "m": updated.multiLine = !negate; sawFlag = true
            case "s": updated.dotMatchesNewline = !negate; sawFlag = true
            case "U": sawFlag = true   // ungreedy: no effect on whether it matches
            case "-" where !negate:
                negate = true
                sawFlag = false
            case ")", ":":
                guard sawFlag else { throw error("invalid or unsupported Perl syntax: missing flags") }
                flags = updated
                return next == ")"
            default:
                throw error("invalid or unsupported Perl syntax: `(?\(next)`")
            }
        }
        throw error("missing closing )")
    }
}
