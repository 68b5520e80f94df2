// RFC 8259 parser. Total: every byte string yields a value or a JSONError.
//
// Choices, matching Go's encoding/json (what Consul runs) where RFC 8259
// leaves room:
// - Lone or mismatched UTF-16 surrogates in `\u` escapes become U+FFFD.
// - Invalid raw UTF-8 inside strings is replaced by U+FFFD, not rejected.
// - Duplicate object keys are all kept; lookups take the last.
// - Numbers that overflow a Double (`1e400`) are an error; underflow is 0.
// - No byte-order mark, no comments, no trailing commas.
// Nesting is handled with an explicit stack, so deep input costs heap, not
// call stack, and is cut off at `maxDepth` anyway. The caller bounds the
// input size (the HTTP layer's body limit).

extension JSONValue {
    /// Default limit on nested arrays/objects.
    public static let defaultMaxDepth = 64

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(input: buffer, maxDepth: maxDepth)
            do throws(JSONError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        try parse(Array(bytes), maxDepth: maxDepth)
    }
}

private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
}

/// An array or object still being filled while its children are parsed.
private struct OpenContainer {
    let isObject: Bool
    var elements: [JSONValue] = []
    var members: [(String, JSONValue)] = []
    var pendingKey = ""

    mutating func add(_ value: JSONValue) {
        if isObject { members.append((pendingKey, value)) } else { elements.append(value) }
    }

    var closer: UInt8 { isObject ? ASCII.closeBrace : ASCII.closeBracket }
    var value: JSONValue { isObject ? .object(members) : .array(elements) }
}

struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var offset = 0

    init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        var stack: [OpenContainer] = []
        parsing: while true {
            guard var finished = try parseScalarOrOpen(&stack) else { continue parsing }
            // A value is complete: hand it to its parent, closing parents
            // whose last element it was, until one expects more.
            while true {
                guard !stack.isEmpty else {
                    skipWhitespace()
                    if offset != input.count { throw JSONError(.trailingData, at: offset) }
                    return finished
                }
                stack[stack.count - 1].add(finished)
                skipWhitespace()
                let byte = try peekRequired()
                if byte == ASCII.comma {
                    offset += 1
                    if stack[stack.count - 1].isObject {
                        stack[stack.count - 1].pendingKey = try parseKey()
                    }
                    continue parsing
                }
                guard byte == stack[stack.count - 1].closer else {
                    throw JSONError(.unexpectedCharacter(byte), at: offset)
                }
                offset += 1
                finished = stack.removeLast().value
            }
        }
    }

    /// Parses a scalar (returned) or opens a container (pushed; returns nil),
    /// returning empty containers directly.
    private mutating func parseScalarOrOpen(_ stack: inout [OpenContainer]) throws(JSONError) -> JSONValue? {
        skipWhitespace()
        let byte = try peekRequired()
        switch byte {
        case ASCII.openBrace, ASCII.openBracket:
            guard stack.count < maxDepth else { throw JSONError(.nestingTooDeep(limit: maxDepth), at: offset) }
            offset += 1
            let isObject = byte == ASCII.openBrace
            skipWhitespace()
            let next = try peekRequired()
            if next == (isObject ? ASCII.closeBrace : ASCII.closeBracket) {
                offset += 1
                return isObject ? .object([]) : .array([])
            }
            var container = OpenContainer(isObject: isObject)
            if isObject { container.pendingKey = try parseKey() }
            stack.append(container)
            return nil
        case ASCII.quote:
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.minus, ASCII.zero...ASCII.nine:
            return .number(try parseNumber())
        default:
            throw JSONError(.unexpectedCharacter(byte), at: offset)
        }
    }

    /// `"key" :` — leaves the offset before the member's value.
    private mutating func parseKey() throws(JSONError) -> String {
        skipWhitespace()
        let byte = try peekRequired()
        guard byte == ASCII.quote else { throw JSONError(.unexpectedCharacter(byte), at: offset) }
        let key = try parseString()
        skipWhitespace()
        let separator = try peekRequired()
        guard separator == ASCII.colon else { throw JSONError(.unexpectedCharacter(separator), at: offset) }
        offset += 1
        return key
    }

    private mutating func skipWhitespace() {
        while offset < input.count {
            switch input[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private func peekRequired() throws(JSONError) -> UInt8 {
        guard offset < input.count else { throw JSONError(.unexpectedEnd, at: offset) }
        return input[offset]
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let start = offset
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in expected {
            guard offset < input.count else { throw JSONError(.unexpectedEnd, at: offset) }
            guard input[offset] == byte else { throw JSONError(.invalidLiteral, at: start) }
            offset += 1
        }
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = offset
        var isPlainInteger = true
        if input[offset] == ASCII.minus { offset += 1 }
        guard offset < input.count else { throw JSONError(.unexpectedEnd, at: offset) }
        if input[offset] == ASCII.zero {
            offset += 1
        } else if isDigit(input[offset]) {
            skipDigits()
        } else {
            throw JSONError(.invalidNumber, at: start)
        }
        if offset < input.count && input[offset] == ASCII.dot {
            isPlainInteger = false
            offset += 1
            guard offset < input.count, isDigit(input[offset]) else { throw JSONError(.invalidNumber, at: start) }
            skipDigits()
        }
        if offset < input.count && (input[offset] | 0x20) == UInt8(ascii: "e") {
            isPlainInteger = false
            offset += 1
            if offset < input.count && (input[offset] == ASCII.plus || input[offset] == ASCII.minus) { offset += 1 }
            guard offset < input.count, isDigit(input[offset]) else { throw JSONError(.invalidNumber, at: start) }
            skipDigits()
        }
        let text = UnsafeBufferPointer(rebasing: input[start..<offset])
        // Up to 15 digits is exact in a Double: skip the string round trip.
        if isPlainInteger && text.count <= 16 {
            var magnitude = 0
            var negative = false
            for byte in text {
                if byte == ASCII.minus { negative = true; continue }
                magnitude = magnitude &* 10 &+ Int(byte &- ASCII.zero)
            }
            if magnitude < 1_000_000_000_000_000 {
                return negative ? -Double(magnitude) : Double(magnitude)
            }
        }
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
            throw JSONError(.numberOutOfRange, at: start)
        }
        return value
    }

    private mutating func skipDigits() {
        while offset < input.count && isDigit(input[offset]) { offset += 1 }
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte >= ASCII.zero && byte <= ASCII.nine }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONError) -> String {
        offset += 1
        let start = offset
        // Fast path: no escapes, so the bytes are the string.
        while offset < input.count {
            let byte = input[offset]
            if byte == ASCII.quote {
                offset += 1
                return String(decoding: UnsafeBufferPointer(rebasing: input[start..<(offset - 1)]), as: UTF8.self)
            }
            if byte == ASCII.backslash || byte < 0x20 { break }
            offset += 1
        }
        var bytes = Array(input[start..<offset])
        while offset < input.count {
            let byte = input[offset]
            switch byte {
            case ASCII.quote:
                offset += 1
                return String(decoding: bytes, as: UTF8.self)
            case ASCII.backslash:
                try parseEscape(into: &bytes)
            case 0..<0x20:
                throw JSONError(.controlCharacterInString, at: offset)
            default:
                bytes.append(byte)
                offset += 1
            }
        }
        throw JSONError(.unexpectedEnd, at: offset)
    }

    private mutating func parseEscape(into bytes: inout [UInt8]) throws(JSONError) {
        let escapeStart = offset
        offset += 1
        let byte = try peekRequired()
        offset += 1
        switch byte {
        case ASCII.quote, ASCII.backslash, UInt8(ascii: "/"): bytes.append(byte)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHex4(escapeStart: escapeStart)
            appendUTF8(of: try combineSurrogates(first: unit), to: &bytes)
        default:
            throw JSONError(.invalidEscape, at: escapeStart)
        }
    }

    /// Resolves a UTF-16 unit from `\uXXXX`, consuming a following low
    /// surrogate escape when it completes a pair. Anything unpaired -> U+FFFD.
    private mutating func combineSurrogates(first unit: UInt16) throws(JSONError) -> Unicode.Scalar {
        if let scalar = Unicode.Scalar(unit) { return scalar }
        guard unit < 0xDC00 else { return Unicode.Scalar.replacement }  // lone low surrogate
        let next = offset
        guard next + 1 < input.count, input[next] == ASCII.backslash, input[next + 1] == UInt8(ascii: "u") else {
            return Unicode.Scalar.replacement
        }
        offset += 2
        let low = try parseHex4(escapeStart: next)
        guard low >= 0xDC00 && low <= 0xDFFF else {
            offset = next  // not a pair: the next escape is decoded on its own
            return Unicode.Scalar.replacement
        }
        let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
        return Unicode.Scalar(value) ?? Unicode.Scalar.replacement
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONError) -> UInt16 {
        var unit: UInt16 = 0
        for _ in 0..<4 {
            guard offset < input.count else { throw JSONError(.unexpectedEnd, at: offset) }
            let byte = input[offset]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONError(.invalidUnicodeEscape, at: escapeStart)
            }
            unit = unit << 4 | UInt16(digit)
            offset += 1
        }
        return unit
    }
}

private extension Unicode.Scalar {
    static let replacement: Unicode.Scalar = "\u{FFFD}"
}

func appendUTF8(of scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
    let value = scalar.value
    switch value {
    case 0..<0x80:
        bytes.append(UInt8(value))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | (value >> 6)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | (value >> 12)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    default:
        bytes.append(UInt8(0xF0 | (value >> 18)))
        bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (value & 0x3F)))
    }
}
