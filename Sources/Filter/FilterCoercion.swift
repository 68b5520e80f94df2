/// How go-bexpr turns a value's text into the selected datum's kind: Go's
/// `strconv.ParseBool`, `ParseInt(_, 0, 64)` (base prefixes, underscores)
/// and `ParseFloat`. Strings compare as bytes, as Go's do (Swift's `==`
/// would treat "é" and "e\u{301}" as equal; Go does not).
enum FilterCoercion {
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: return nil
        }
    }

    /// The number `text` spells as a Go integer or float literal, or nil.
    static func number(_ text: String) -> Double? {
        if let integer = integer(text) { return integer }
        // Swift's parser is C's strtod, which skips leading blanks; Go
        // accepts none.
        guard let first = text.utf8.first, !text.utf8.contains(where: { $0 <= 0x20 }),
              first != UInt8(ascii: "_") else { return nil }
        return Double(text)
    }

    /// Go's `ParseInt(text, 0, 64)` (and `ParseUint` for values above
    /// Int64.max), as a Double; nil on syntax errors and overflow.
    static func integer(_ text: String) -> Double? {
        var digits = Array(text.utf8)[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        var base: UInt64 = 10
        var prefixed = false
        if digits.count > 1, digits.first == UInt8(ascii: "0") {
            prefixed = true
            switch digits[digits.startIndex + 1] | 0x20 {
            case UInt8(ascii: "x"): base = 16; digits = digits.dropFirst(2)
            case UInt8(ascii: "o"): base = 8; digits = digits.dropFirst(2)
            case UInt8(ascii: "b"): base = 2; digits = digits.dropFirst(2)
            default: base = 8; digits = digits.dropFirst()
            }
        }
        // Underscores only between digits (a base prefix counts as one).
        var previousWasDigit = prefixed
        var sawDigit = false
        var value: UInt64 = 0
        for byte in digits {
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit else { return nil }
                previousWasDigit = false
                continue
            }
            guard let digit = digitValue(byte), digit < base else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: base)
            let (sum, overflowB) = shifted.addingReportingOverflow(digit)
            guard !overflowA, !overflowB else { return nil }
            value = sum
            previousWasDigit = true
            sawDigit = true
        }
        guard sawDigit, previousWasDigit else { return nil }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return -Double(value)
        }
        return Double(value)
    }

    private static func digitValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case 0x30...0x39: return UInt64(byte - 0x30)
        case 0x41...0x5A: return UInt64(byte - 0x41 + 10)
        case 0x61...0x7A: return UInt64(byte - 0x61 + 10)
        default: return nil
        }
    }

    static func equal(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// Go's `strings.Contains` (the empty string is in every string), by
    /// Knuth-Morris-Pratt so the cost is linear whatever the bytes: a
    /// needle of 4,000 `a`s against long runs of `a`s stays cheap.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty else { return true }
        // fallback[i]: the length of the longest proper prefix of
        // pattern[0...i] that is also its suffix.
        var fallback = [Int](repeating: 0, count: pattern.count)
        var matched = 0
        for index in pattern.indices.dropFirst() {
            while matched > 0, pattern[index] != pattern[matched] { matched = fallback[matched - 1] }
            if pattern[index] == pattern[matched] { matched += 1 }
            fallback[index] = matched
        }
        matched = 0
        for byte in haystack.utf8 {
            while matched > 0, byte != pattern[matched] { matched = fallback[matched - 1] }
            if byte == pattern[matched] { matched += 1 }
            if matched == pattern.count { return true }
        }
        return false
    }
}
