/// A parsed or hand-built JSON document.
///
/// Objects keep their members in source order (an array of pairs), because
/// Consul's responses and our pretty output are compared by humans and tests
/// byte for byte. Duplicate keys are kept as they appear; lookups return the
/// *last* one, which is what Go's `encoding/json` (and so Consul) does.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])
}

// MARK: - Equality

extension JSONValue: Equatable {
    /// Structural equality. Object members are compared in order: two objects
    /// with the same members in a different order are *not* equal, since the
    /// order is part of what this type promises to keep.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (left, right) in zip(a, b) where left.0 != right.0 || left.1 != right.1 {
                return false
            }
            return true
        default: return false
        }
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` (last one wins on duplicates), or nil when this
    /// is not an object or has no such member.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.0 == key })?.1
    }

    /// The element at `index`, or nil when this is not an array or the index
    /// is out of range (never traps).
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Looks a member up by exact key first, then ASCII case-insensitively —
    /// Go's `encoding/json` matches struct fields that way, and Consul clients
    /// rely on it (`"name"` for `"Name"`).
    public func value(forKeyIgnoringCase key: String) -> JSONValue? {
        if let exact = self[key] { return exact }
        guard case .object(let members) = self else { return nil }
        return members.last(where: { asciiEqualFolded($0.0, key, ignoringUnderscores: false) })?.1
    }

    /// Like `value(forKeyIgnoringCase:)` but also ignores `_`, so the
    /// snake_case spelling Consul accepts in registrations (`service_id`)
    /// finds the CamelCase key (`ServiceID`), and the other way round.
    public func value(forKeyIgnoringCaseAndUnderscores key: String) -> JSONValue? {
        if let folded = value(forKeyIgnoringCase: key) { return folded }
        guard case .object(let members) = self else { return nil }
        return members.last(where: { asciiEqualFolded($0.0, key, ignoringUnderscores: true) })?.1
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The number as an `Int` only when it is an exact integer that fits;
    /// `1.5`, `1e300` and non-numbers give nil rather than a rounded guess.
    public var intValue: Int? {
        guard case .number(let value) = self else { return nil }
        return Int(exactly: value)
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

/// ASCII case folding without allocating; non-ASCII bytes must match exactly.
private func asciiEqualFolded(_ a: String, _ b: String, ignoringUnderscores: Bool) -> Bool {
    var left = a.utf8.makeIterator()
    var right = b.utf8.makeIterator()
    while true {
        var x = left.next()
        var y = right.next()
        if ignoringUnderscores {
            while x == UInt8(ascii: "_") { x = left.next() }
            while y == UInt8(ascii: "_") { y = right.next() }
        }
        switch (x, y) {
        case (nil, nil): return true
        case let (p?, q?):
            if p == q { continue }
            if lowercasedASCII(p) != lowercasedASCII(q) { return false }
        default: return false
        }
    }
}

@inline(__always)
private func lowercasedASCII(_ byte: UInt8) -> UInt8 {
    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte | 0x20 : byte
}

// MARK: - Literals (handy in handlers and tests)

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Dictionary literals keep their written order (they are `KeyValuePairs`).
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }
}
