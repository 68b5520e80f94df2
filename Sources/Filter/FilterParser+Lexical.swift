/// The lexical layer of the filter grammar (go-bexpr's `grammar.peg`):
/// whitespace, keywords, identifiers, selectors, numbers and strings. The
/// parser reads bytes directly (the grammar is whitespace-sensitive in a few
/// places, e.g. `_ "and" _` needs blanks on both sides), never traps, and
/// every loop advances `position`.
extension FilterParser {
    struct Failure: Error {
        var offset: Int
        var message: String
        /// Fatal failures are not retried by an alternative reading (the
        /// nesting limit, a bad regular expression): they are final.
        var fatal = false
    }

    static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// `[a-zA-Z0-9_/]`: what follows an identifier's first letter.
    static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == 0x5F || byte == 0x2F
    }

    var atEnd: Bool { position >= bytes.count }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let index = position + ahead
        return index < bytes.count ? bytes[index] : nil
    }

    /// Skips `[ \t\r\n]*`; says whether there was any.
    @discardableResult
    mutating func skipBlanks() -> Bool {
        let start = position
        while let byte = peek(), Self.isBlank(byte) { position += 1 }
        return position > start
    }

    func looking(at word: String) -> Bool {
        var index = position
        for byte in word.utf8 {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }

    /// Consumes `word` if it is next.
    mutating func take(_ word: String) -> Bool {
        guard looking(at: word) else { return false }
        position += word.utf8.count
        return true
    }

    /// Consumes `word` and the blanks after it, only if blanks follow
    /// (the grammar's `"not" _`, `"in" _`...).
    mutating func takeSpaced(_ word: String) -> Bool {
        guard looking(at: word), let after = peek(word.utf8.count), Self.isBlank(after) else { return false }
        position += word.utf8.count
        skipBlanks()
        return true
    }

    func failure(_ message: String, at offset: Int? = nil) -> Failure {
        Failure(offset: offset ?? position, message: message)
    }

    /// A short quote of the input at `offset`, for "unexpected ..." messages.
    func excerpt(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        var end = offset
        while end < bytes.count, end - offset < 16, !Self.isBlank(bytes[end]) { end += 1 }
        if end == offset { end = offset + 1 }
        return "\"" + String(decoding: bytes[offset..<end], as: UTF8.self) + "\""
    }

    // MARK: - Identifiers and selectors

    /// `[a-zA-Z][a-zA-Z0-9_/]*`, or nil (consuming nothing).
    mutating func identifier() -> String? {
        guard let first = peek(), Self.isLetter(first) else { return nil }
        let start = position
        position += 1
        while let byte = peek(), Self.isIdentifierByte(byte) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A dotted selector's path: an identifier followed by `.ident`, `.N`
    /// and `["key"]` / `` [`key`] `` parts. The caller has checked that a
    /// letter is next.
    mutating func dottedPath() throws(Failure) -> [String] {
        guard let first = identifier() else { throw failure("expected a selector") }
        var parts = [first]
        while true {
            if peek() == UInt8(ascii: "."), let next = peek(1) {
                if Self.isLetter(next) {
                    position += 1
                    if let name = identifier() { parts.append(name) }
                    continue
                }
                if Self.isDigit(next) {
                    position += 1
                    let start = position
                    while let byte = peek(), Self.isDigit(byte) { position += 1 }
                    parts.append(String(decoding: bytes[start..<position], as: UTF8.self))
                    continue
                }
                return parts
            }
            guard peek() == UInt8(ascii: "[") else { return parts }
            let open = position
            position += 1
            skipBlanks()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "`") else {
                throw failure("invalid index: an index is a quoted string, as in [\"key\"]", at: open)
            }
            let key = try stringLiteral()
            skipBlanks()
            guard take("]") else { throw failure("unclosed index expression") }
            parts.append(key.text)
        }
    }

    /// A double-quoted selector in go-bexpr's JSON-pointer form, `"/a/b"`:
    /// one or more `/segment`, a segment being letters, digits and `-_.~:|`,
    /// with `~1` for `/` and `~0` for `~` as RFC 6901 says. Nil if `raw` is
    /// not of that form.
    static func jsonPointerParts(_ raw: String) -> [String]? {
        let scalars = Array(raw.unicodeScalars)
        guard scalars.first == "/" else { return nil }
        var parts: [String] = []
        var current = ""
        for scalar in scalars.dropFirst() {
            if scalar == "/" {
                guard !current.isEmpty else { return nil }
                parts.append(current)
                current = ""
            } else if isPointerSegmentScalar(scalar) {
                current.unicodeScalars.append(scalar)
            } else {
                return nil
            }
        }
        guard !current.isEmpty else { return nil }
        parts.append(current)
        return parts.map { $0.replacingAll("~1", with: "/").replacingAll("~0", with: "~") }
    }

    private static func isPointerSegmentScalar(_ scalar: Unicode.Scalar) -> Bool {
        if "-_.~:|".unicodeScalars.contains(scalar) { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    // MARK: - Numbers and strings

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, which must be followed by a blank, the
    /// end, `)` or (our addition, so `{ x == 1}` parses) `}`.
    mutating func numberLiteral() throws(Failure) -> String {
        let start = position
        _ = take("-")
        guard let lead = peek(), Self.isDigit(lead) else { throw failure("expected a value", at: start) }
        position += 1
        if lead != UInt8(ascii: "0") {
            while let byte = peek(), Self.isDigit(byte) { position += 1 }
        }
        if peek() == UInt8(ascii: "."), let next = peek(1), Self.isDigit(next) {
            position += 1
            while let byte = peek(), Self.isDigit(byte) { position += 1 }
        }
        if let after = peek(), !Self.isBlank(after), after != UInt8(ascii: ")"), after != UInt8(ascii: "}") {
            throw failure("invalid number literal", at: position)
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A `` `raw` `` or `"escaped"` string (Go's `strconv.Unquote` rules:
    /// `\n \t \xHH \u1234 \U0001F600 \101`...; our addition: `\"`). Returns
    /// the decoded text and, for double quotes, the raw text between them
    /// (a selector in JSON-pointer form is recognised on the raw text).
    mutating func stringLiteral() throws(Failure) -> (text: String, raw: String?) {
        guard let quote = peek() else { throw failure("expected a string") }
        let start = position
        position += 1
        if quote == UInt8(ascii: "`") {
            let contentStart = position
            while let byte = peek(), byte != quote { position += 1 }
            guard !atEnd else { throw failure("unterminated string literal", at: bytes.count) }
            // Go drops carriage returns from raw strings.
            let content = bytes[contentStart..<position].filter { $0 != 0x0D }
            position += 1
            return (String(decoding: content, as: UTF8.self), nil)
        }
        var decoded: [UInt8] = []
        while true {
            guard let byte = peek() else { throw failure("unterminated string literal", at: bytes.count) }
            if byte == quote { break }
            if byte == 0x0A { throw failure("newline in string literal") }
            position += 1
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            try escape(into: &decoded)
        }
        let raw = String(decoding: bytes[(start + 1)..<position], as: UTF8.self)
        position += 1
        return (String(decoding: decoded, as: UTF8.self), raw)
    }

    /// One escape after a backslash, appended as UTF-8 (or as a raw byte for
    /// `\xHH` and octal, as Go does; an invalid sequence decodes to U+FFFD).
    private mutating func escape(into decoded: inout [UInt8]) throws(Failure) {
        let at = position - 1
        guard let letter = peek() else { throw failure("unterminated string literal", at: bytes.count) }
        position += 1
        let simple: [UInt8: UInt8] = [0x61: 0x07, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D,
                                      0x74: 0x09, 0x76: 0x0B, 0x5C: 0x5C, 0x22: 0x22]
        if let byte = simple[letter] {
            decoded.append(byte)
            return
        }
        switch letter {
        case UInt8(ascii: "x"):
            decoded.append(UInt8(truncatingIfNeeded: try hexDigits(2, escapeAt: at)))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let value = try hexDigits(letter == UInt8(ascii: "u") ? 4 : 8, escapeAt: at)
            guard let scalar = Unicode.Scalar(value) else { throw failure("invalid Unicode escape in string", at: at) }
            decoded.append(contentsOf: Array(String(Character(scalar)).utf8))
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = UInt32(letter - 0x30)
            for _ in 0..<2 {
                guard let digit = peek(), digit >= 0x30, digit <= 0x37 else { throw failure("invalid octal escape in string", at: at) }
                value = value * 8 + UInt32(digit - 0x30)
                position += 1
            }
            guard value <= 255 else { throw failure("invalid octal escape in string", at: at) }
            decoded.append(UInt8(value))
        default:
            throw failure("invalid escape sequence in string", at: at)
        }
    }

    private mutating func hexDigits(_ count: Int, escapeAt: Int) throws(Failure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let byte = peek(), let digit = Self.hexValue(byte) else {
                throw failure("invalid hexadecimal escape in string", at: escapeAt)
            }
            value = value << 4 | digit   // at most 8 digits: fits in 32 bits
            position += 1
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: return UInt32(byte - 0x30)
        case 0x41...0x46: return UInt32(byte - 0x41 + 10)
        case 0x61...0x66: return UInt32(byte - 0x61 + 10)
        default: return nil
        }
    }
}

extension String {
    /// Replaces every occurrence of `target` (compared as Unicode scalars,
    /// as Go compares bytes), without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        let source = Array(unicodeScalars)
        let pattern = Array(target.unicodeScalars)
        guard !pattern.isEmpty, source.count >= pattern.count else { return self }
        var result = String.UnicodeScalarView()
        var index = 0
        while index < source.count {
            if index + pattern.count <= source.count, source[index..<(index + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: replacement.unicodeScalars)
                index += pattern.count
            } else {
                result.append(source[index])
                index += 1
            }
        }
        return String(result)
    }
}
