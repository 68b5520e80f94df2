/// A recursive-descent parser for go-bexpr's grammar (`grammar/grammar.peg`):
///
///     or      := and ( _ "or" _ and )*
///     and     := unary ( _ "and" _ unary )*
///     unary   := "not" _ unary | primary
///     primary := "(" or ")" | collection | match
///     collection := ("any" | "all") _ selector _ "as" _ names "{" or "}"
///     match   := selector (== | != | contains | not contains | matches
///                | not matches) value
///              | selector is [not] (empty | nil)
///              | value [not] in selector
///
/// Where go-bexpr's PEG backtracks, this parser looks ahead instead, except
/// for `not`, which may also be a field's name (`not == 1`): that one
/// alternative is retried, which costs one extra match at most per `not`.
/// One difference from the PEG: `any`/`all` are primaries here, so they
/// combine with `and`/`or`/`not` without parentheses (go-bexpr accepts them
/// only as a whole expression or as the right side of `or`).
///
/// Recursion is bounded by `maxDepth` (each `(`, `not` and `any`/`all`
/// counts one level) and the input by `maxLength`, so no input can exhaust
/// the stack.
struct FilterParser {
    static let maxLength = 4096
    static let maxDepth = 32

    let bytes: [UInt8]
    var position = 0
    /// The names bound by the enclosing `any`/`all`, outermost first.
    var scopes: [Scope] = []

    struct Scope {
        var element: String?
        var index: String?
        var value: String?
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ text: String) throws(Failure) -> FilterNode {
        var parser = FilterParser(bytes: Array(text.utf8))
        guard parser.bytes.count <= maxLength else {
            throw Failure(offset: 0, message: "filter expression is too long (\(parser.bytes.count) bytes; at most \(maxLength) are accepted)")
        }
        parser.skipBlanks()
        guard !parser.atEnd else { throw parser.failure("empty filter expression") }
        let node = try parser.orExpression(depth: 0)
        parser.skipBlanks()
        guard parser.atEnd else {
            throw parser.failure("unexpected \(parser.excerpt(at: parser.position)): expected \"and\", \"or\" or the end of the expression")
        }
        return node
    }

    /// "line:column (offset): message", as go-bexpr's parser reports
    /// positions (the column counts characters, the offset bytes).
    static func describe(_ failure: Failure, in text: String) -> String {
        var line = 1
        var column = 1
        for byte in text.utf8.prefix(failure.offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return "\(line):\(column) (\(failure.offset)): \(failure.message)"
    }

    // MARK: - Boolean structure

    mutating func orExpression(depth: Int) throws(Failure) -> FilterNode {
        var terms = [try andExpression(depth: depth)]
        while true {
            let save = position
            guard skipBlanks(), takeSpaced("or") else {
                position = save
                break
            }
            terms.append(try andExpression(depth: depth))
        }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    mutating func andExpression(depth: Int) throws(Failure) -> FilterNode {
        var terms = [try unaryExpression(depth: depth)]
        while true {
            let save = position
            guard skipBlanks(), takeSpaced("and") else {
                position = save
                break
            }
            terms.append(try unaryExpression(depth: depth))
        }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    mutating func unaryExpression(depth: Int) throws(Failure) -> FilterNode {
        let start = position
        guard takeSpaced("not") else { return try primaryExpression(depth: depth) }
        try checkDepth(depth)
        let asKeyword: Failure
        do throws(Failure) {
            let operand = try unaryExpression(depth: depth + 1)
            if case .not(let inner) = operand { return inner }
            return .not(operand)
        } catch {
            if error.fatal { throw error }
            asKeyword = error
        }
        // Not a negation: perhaps a field named "not" (`not == 1`).
        position = start
        do throws(Failure) {
            return try primaryExpression(depth: depth)
        } catch {
            if error.fatal { throw error }
            throw error.offset > asKeyword.offset ? error : asKeyword
        }
    }

    mutating func primaryExpression(depth: Int) throws(Failure) -> FilterNode {
        if take("(") {
            try checkDepth(depth)
            skipBlanks()
            let inner = try orExpression(depth: depth + 1)
            skipBlanks()
            guard take(")") else {
                throw failure("unmatched parentheses: expected \")\" but found \(excerpt(at: position))")
            }
            return inner
        }
        if let collection = try collectionExpression(depth: depth) { return collection }
        return .match(try matchExpression())
    }

    func checkDepth(_ depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else {
            throw Failure(offset: position, message: "expression nested too deeply (more than \(Self.maxDepth) levels of parentheses, not, any and all)", fatal: true)
        }
    }

    // MARK: - any / all

    /// `any Sel as x { ... }`, or nil (consuming nothing) when the input is
    /// not one, e.g. `any == 3` or `any in Tags` where `any` is a word.
    mutating func collectionExpression(depth: Int) throws(Failure) -> FilterNode? {
        let start = position
        let quantifier: FilterQuantifier
        if takeSpaced("any") {
            quantifier = .any
        } else if takeSpaced("all") {
            quantifier = .all
        } else {
            return nil
        }
        guard let path = try? selectorPath(), skipBlanks(), takeSpaced("as") else {
            position = start
            return nil
        }
        try checkDepth(depth)
        let scope = try bindingNames()
        skipBlanks()
        guard take("{") else { throw failure("expected \"{\" after the names of \(quantifier == .any ? "any" : "all")") }
        skipBlanks()
        let selector = resolve(path.parts, written: path.written)
        scopes.append(scope)
        defer { scopes.removeLast() }
        let body = try orExpression(depth: depth + 1)
        skipBlanks()
        guard take("}") else {
            throw failure("unexpected \(excerpt(at: position)): expected \"and\", \"or\" or \"}\"")
        }
        return .collection(FilterCollection(quantifier: quantifier, selector: selector, body: body))
    }

    /// `x`, `k, v`, `k, _` or `_, v`.
    mutating func bindingNames() throws(Failure) -> Scope {
        if take("_") {
            skipBlanks()
            guard take(",") else { throw failure("expected \",\" after \"_\"") }
            skipBlanks()
            guard let value = identifier() else { throw failure("expected a name after \"_,\"") }
            return Scope(value: value)
        }
        guard let first = identifier() else {
            throw failure("expected a name for the elements, as in \"as x\" or \"as k, v\"")
        }
        let save = position
        skipBlanks()
        guard take(",") else {
            position = save
            return Scope(element: first)
        }
        skipBlanks()
        if take("_") { return Scope(index: first) }
        guard let second = identifier() else { throw failure("expected a name or \"_\" after \",\"") }
        guard second != first else {
            throw failure("\"\(first)\" cannot be used as a placeholder for both the index and the value")
        }
        return Scope(index: first, value: second)
    }

    // MARK: - Matches

    private enum Term {
        case path([String])
        case quoted(text: String, raw: String?)
        case number(String)
    }

    mutating func matchExpression() throws(Failure) -> FilterMatch {
        let start = position
        guard let first = peek() else { throw failure("unexpected end of input: expected a selector, a value, \"(\" or \"not\"") }
        let term: Term
        if Self.isLetter(first) {
            term = .path(try dottedPath())
        } else if first == UInt8(ascii: "\"") || first == UInt8(ascii: "`") {
            let literal = try stringLiteral()
            term = .quoted(text: literal.text, raw: literal.raw)
        } else if first == UInt8(ascii: "-") || Self.isDigit(first) {
            term = .number(try numberLiteral())
        } else {
            throw failure("unexpected \(excerpt(at: position)): expected a selector, a value, \"(\" or \"not\"")
        }
        let termEnd = position
        let blank = skipBlanks()
        if take("==") { return try selectorMatch(term, at: start, .equal) }
        if take("!=") { return try selectorMatch(term, at: start, .notEqual) }
        guard blank else { throw operatorExpected(at: termEnd) }
        if takeSpaced("contains") { return try selectorMatch(term, at: start, .contains) }
        if takeSpaced("matches") { return try selectorMatch(term, at: start, .matches) }
        if takeSpaced("in") { return try valueMatch(term, .contains) }
        if takeSpaced("is") {
            let negated = takeSpaced("not")
            let op: FilterOperator
            if take("empty") {
                op = negated ? .isNotEmpty : .isEmpty
            } else if take("nil") {
                op = negated ? .isNotNil : .isNil
            } else {
                throw failure("expected \"empty\", \"nil\", \"not empty\" or \"not nil\" after \"is\"")
            }
            return FilterMatch(selector: try selector(of: term, at: start), op: op, value: nil, regex: nil)
        }
        if takeSpaced("not") {
            if takeSpaced("contains") { return try selectorMatch(term, at: start, .notContains) }
            if takeSpaced("matches") { return try selectorMatch(term, at: start, .notMatches) }
            if takeSpaced("in") { return try valueMatch(term, .notContains) }
            throw failure("expected \"contains\", \"matches\" or \"in\" after \"not\"")
        }
        throw operatorExpected(at: position)
    }

    private func operatorExpected(at offset: Int) -> Failure {
        failure("unexpected \(excerpt(at: offset)): expected an operator (==, !=, contains, in, matches, is)", at: offset)
    }

    /// `Sel op Value`, the operator consumed.
    private mutating func selectorMatch(_ term: Term, at start: Int, _ op: FilterOperator) throws(Failure) -> FilterMatch {
        let selector = try selector(of: term, at: start)
        skipBlanks()
        let valueStart = position
        let value = try value()
        var regex: LinearRegex?
        if op == .matches || op == .notMatches {
            do throws(LinearRegex.Failure) {
                regex = try LinearRegex(value)
            } catch {
                throw Failure(offset: valueStart, message: "invalid regular expression \"\(value)\": \(error.description)", fatal: true)
            }
        }
        return FilterMatch(selector: selector, op: op, value: value, regex: regex)
    }

    /// `Value [not] in Sel`, the operator consumed.
    private mutating func valueMatch(_ term: Term, _ op: FilterOperator) throws(Failure) -> FilterMatch {
        let value: String
        switch term {
        case .path(let parts): value = parts.joined(separator: ".")
        case .quoted(let text, _): value = text
        case .number(let text): value = text
        }
        guard let first = peek(), Self.isLetter(first) || first == UInt8(ascii: "\"") else {
            throw failure("invalid selector after \"in\": expected a name or a quoted JSON pointer, found \(excerpt(at: position))")
        }
        let path = try selectorPath()
        return FilterMatch(selector: resolve(path.parts, written: path.written), op: op, value: value, regex: nil)
    }

    private func selector(of term: Term, at start: Int) throws(Failure) -> FilterSelector {
        switch term {
        case .path(let parts):
            return resolve(parts, written: parts.joined(separator: "."))
        case .quoted(_, let raw?):
            if let parts = Self.jsonPointerParts(raw) { return resolve(parts, written: raw) }
            throw failure("invalid selector \"\(raw)\": a quoted selector is a JSON pointer such as \"/Service/Port\"", at: start)
        case .quoted(let text, nil):
            throw failure("invalid selector `\(text)`: a selector is a name or a double-quoted JSON pointer", at: start)
        case .number(let text):
            throw failure("invalid selector \(text): a number is a value, not a selector", at: start)
        }
    }

    /// A selector in selector position: a dotted path or a JSON pointer.
    private mutating func selectorPath() throws(Failure) -> (parts: [String], written: String) {
        if let first = peek(), Self.isLetter(first) {
            let parts = try dottedPath()
            return (parts, parts.joined(separator: "."))
        }
        let start = position
        guard peek() == UInt8(ascii: "\"") else { throw failure("expected a selector") }
        let literal = try stringLiteral()
        guard let raw = literal.raw, let parts = Self.jsonPointerParts(raw) else {
            throw failure("invalid selector \(excerpt(at: start)): a quoted selector is a JSON pointer such as \"/Service/Port\"", at: start)
        }
        return (parts, raw)
    }

    /// A value: a bare word (a selector's text, as go-bexpr takes it), a
    /// number or a quoted string. Unlike go-bexpr, a double-quoted value is
    /// always its text, even when it looks like a JSON pointer ("/v1").
    private mutating func value() throws(Failure) -> String {
        guard let first = peek() else { throw failure("unexpected end of input: expected a value") }
        if Self.isLetter(first) { return try dottedPath().joined(separator: ".") }
        if first == UInt8(ascii: "\"") || first == UInt8(ascii: "`") { return try stringLiteral().text }
        if first == UInt8(ascii: "-") || Self.isDigit(first) { return try numberLiteral() }
        throw failure("unexpected \(excerpt(at: position)): expected a value (a word, a number or a quoted string)")
    }

    /// Binds a selector's first part to the innermost `any`/`all` name it
    /// spells, if any.
    private func resolve(_ parts: [String], written: String) -> FilterSelector {
        if let head = parts.first {
            for level in scopes.indices.reversed() {
                let scope = scopes[level]
                let role: FilterBindingRole? = head == scope.element ? .element
                    : head == scope.index ? .index
                    : head == scope.value ? .value : nil
                if let role {
                    return FilterSelector(base: .variable(level: level, role: role), parts: Array(parts.dropFirst()),
                                          written: written, pointer: parts)
                }
            }
        }
        return FilterSelector(base: .datum, parts: parts, written: written, pointer: parts)
    }
}
