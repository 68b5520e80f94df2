// URL decoding with Go's net/url semantics, which Consul's handlers see:
// - Paths: `%XY` decoded, `+` kept as `+` (url.PathUnescape). An invalid
//   escape makes the whole request a 400, as Go's request parsing does.
// - Query strings: `&`-separated `name=value` pairs, `+` decoded to a space
//   (url.ParseQuery). Pairs with an invalid escape or a `;` are dropped,
//   empty pairs skipped; a name without `=` is present with value "".

/// Decodes `%XY` escapes (and, when `plusAsSpace`, `+` as a space).
/// Strict: returns nil when a `%` is not followed by two hex digits.
/// Decoded bytes that are not valid UTF-8 become U+FFFD.
public func percentDecode(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String? {
    guard let bytes = percentDecodedBytes(text.utf8, plusAsSpace: plusAsSpace) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

func percentDecodedBytes(_ input: some Collection<UInt8>, plusAsSpace: Bool) -> [UInt8]? {
    var output: [UInt8] = []
    output.reserveCapacity(input.count)
    var index = input.startIndex
    while index != input.endIndex {
        let byte = input[index]
        input.formIndex(after: &index)
        if byte == UInt8(ascii: "%") {
            guard index != input.endIndex, let high = hexValue(input[index]) else { return nil }
            input.formIndex(after: &index)
            guard index != input.endIndex, let low = hexValue(input[index]) else { return nil }
            input.formIndex(after: &index)
            output.append(high << 4 | low)
        } else if byte == UInt8(ascii: "+") && plusAsSpace {
            output.append(UInt8(ascii: " "))
        } else {
            output.append(byte)
        }
    }
    return output
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Decoded query parameters in order, duplicates kept.
/// `?passing` is `("passing", "")`: present, empty value.
public struct HTTPQuery: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)] = []) { self.items = items }

    public init(dictionaryLiteral elements: (String, String)...) {
        items = elements.map { (name: $0.0, value: $0.1) }
    }

    /// Parses a raw query string (the part after `?`) like Go's url.ParseQuery.
    public init(parsing rawQuery: some StringProtocol) {
        items = []
        for pair in rawQuery.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard !pair.contains(UInt8(ascii: ";")) else { continue }
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let rawName = pair[..<(equals ?? pair.endIndex)]
            let rawValue = equals.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...]
            guard let name = percentDecodedBytes(rawName, plusAsSpace: true),
                  let value = percentDecodedBytes(rawValue, plusAsSpace: true) else { continue }
            items.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
    }

    public var isEmpty: Bool { items.isEmpty }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { items.makeIterator() }

    /// The first value for `name` (case-sensitive, like Go's Values.Get).
    public subscript(name: String) -> String? {
        items.first(where: { $0.name == name })?.value
    }

    public func values(_ name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    /// Presence test, true for a bare `?name` too.
    public func contains(_ name: String) -> Bool {
        items.contains(where: { $0.name == name })
    }

    public mutating func add(_ name: String, _ value: String) {
        items.append((name: name, value: value))
    }
}

extension HTTPQuery: Equatable {
    public static func == (lhs: HTTPQuery, rhs: HTTPQuery) -> Bool {
        lhs.items.count == rhs.items.count
            && zip(lhs.items, rhs.items).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
