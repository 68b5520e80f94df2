/// Streams JSON straight into a byte buffer, for hot paths (HTTP responses)
/// that should not build a `JSONValue` first.
///
/// Commas, and in pretty mode newlines and indentation, are inserted
/// automatically; the caller only says what comes next:
///
///     var writer = JSONWriter()
///     writer.beginObject()
///     writer.key("Name"); writer.string("web")
///     writer.key("Port"); writer.int(8080)
///     writer.endObject()
///     // writer.bytes == #"{"Name":"web","Port":8080}"#
///
/// Pretty output matches Go's `json.MarshalIndent(v, "", "    ")`, which is
/// what Consul's `?pretty` produces. The writer does not validate call order;
/// unbalanced begin/end calls produce invalid JSON, not a crash.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]
    public let pretty: Bool
    private var depth = 0
    /// The current container already has an element: the next needs a comma.
    private var needsComma = false
    /// A key was just written: the next value follows it directly.
    private var afterKey = false

    public init(pretty: Bool = false, reservingCapacity capacity: Int = 256) {
        self.pretty = pretty
        self.bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues an existing buffer (for example after HTTP headers).
    public init(appendingTo bytes: [UInt8], pretty: Bool = false) {
        self.pretty = pretty
        self.bytes = bytes
    }

    // MARK: Structure

    public mutating func beginObject() {
        beforeValue()
        bytes.append(UInt8(ascii: "{"))
        depth += 1
        needsComma = false
    }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        beforeValue()
        bytes.append(UInt8(ascii: "["))
        depth += 1
        needsComma = false
    }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    public mutating func key(_ key: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        if pretty { newlineAndIndent(depth) }
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        if pretty { bytes.append(UInt8(ascii: " ")) }
        afterKey = true
        needsComma = true
    }

    // MARK: Values

    public mutating func string(_ value: String) {
        beforeValue()
        appendQuoted(value)
    }

    public mutating func int(_ value: Int) {
        beforeValue()
        appendDecimal(value)
    }

    public mutating func uint(_ value: UInt64) {
        beforeValue()
        appendDecimal(value)
    }

    /// Integral values print without a fraction (`3`, not `3.0`), others in
    /// Go's shortest form. NaN and infinities have no JSON form: `null`.
    public mutating func double(_ value: Double) {
        beforeValue()
        appendJSONNumber(value, to: &bytes)
    }

    public mutating func bool(_ value: Bool) {
        beforeValue()
        if value { appendASCII("true") } else { appendASCII("false") }
    }

    public mutating func null() {
        beforeValue()
        appendASCII("null")
    }

    /// An already serialized JSON value (a cached fragment), copied verbatim.
    /// In pretty mode it is not re-indented.
    public mutating func raw(_ json: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: json)
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let number): double(number)
        case .string(let text): string(text)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for (name, member) in members {
                key(name)
                self.value(member)
            }
            endObject()
        }
    }

    /// `["a","b"]` — Consul's Tags and similar lists.
    public mutating func stringArray(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    // MARK: Key + value shorthands

    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: Int) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: UInt64) { key(name); uint(value) }
    public mutating func field(_ name: String, _ value: Double) { key(name); double(value) }
    public mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    public mutating func field(_ name: String, _ value: [String]) { key(name); stringArray(value) }
    public mutating func field(_ name: String, _ value: JSONValue) { key(name); self.value(value) }

    // MARK: Internals

    private mutating func beforeValue() {
        if afterKey {
            afterKey = false
            return
        }
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        if pretty && depth > 0 { newlineAndIndent(depth) }
        needsComma = true
    }

    private mutating func close(_ closer: UInt8) {
        depth = max(depth - 1, 0)
        // Go prints empty containers as `{}` / `[]` even when pretty.
        if pretty && needsComma { newlineAndIndent(depth) }
        bytes.append(closer)
        needsComma = true
        afterKey = false
    }

    private mutating func newlineAndIndent(_ level: Int) {
        bytes.append(0x0A)
        for _ in 0..<(level * 4) { bytes.append(0x20) }
    }

    private mutating func appendASCII(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func appendDecimal<T: FixedWidthInteger>(_ value: T) {
        appendInteger(value, to: &bytes)
    }

    /// Quotes and escapes: `"` and `\` get a backslash, control characters
    /// `\n` `\r` `\t` or `\u00XX`; all other UTF-8 is copied as is.
    private mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(hex.utf8Start[Int(byte >> 4)])
                    bytes.append(hex.utf8Start[Int(byte & 0x0F)])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Compact (`json.Marshal`) or pretty (`json.MarshalIndent` with four
    /// spaces) UTF-8 bytes, without a trailing newline.
    public func serialized(pretty: Bool = false) -> [UInt8] {
        var writer = JSONWriter(pretty: pretty)
        writer.value(self)
        return writer.bytes
    }

    public func serializedString(pretty: Bool = false) -> String {
        String(decoding: serialized(pretty: pretty), as: UTF8.self)
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { serializedString() }
}

/// Decimal digits of any integer, without going through `String`.
func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    if value == 0 {
        bytes.append(UInt8(ascii: "0"))
        return
    }
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    // Work on the magnitude so T.min does not overflow.
    var magnitude = value.magnitude
    let start = bytes.count
    while magnitude > 0 {
        let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
        bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remainder))
        magnitude = quotient
    }
    bytes[start...].reverse()
}
