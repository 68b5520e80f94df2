/// Escapes and bracketed classes of the regular-expression parser.
extension RegexParser {
    enum Escape {
        case scalar(Unicode.Scalar)
        case set(RegexCharSet)
        case assertion(RegexAssertion)
    }

    mutating func intern(_ set: RegexCharSet) -> Int {
        sets.append(set)
        return sets.count - 1
    }

    mutating func escapeAtom() throws(LinearRegex.Failure) -> RegexNode {
        switch try escape(inClass: false) {
        case .scalar(let scalar): return literal(scalar)
        case .set(let set): return .set(intern(set))
        case .assertion(let assertion): return .assertion(assertion)
        }
    }

    /// The escape at `position` (a backslash). Any ASCII punctuation may be
    /// escaped; an escaped letter or digit must be one RE2 knows.
    mutating func escape(inClass: Bool) throws(LinearRegex.Failure) -> Escape {
        position += 1
        guard let letter = peek() else { throw error("trailing backslash at end of expression") }
        position += 1
        let octal: ClosedRange<Unicode.Scalar> = "0"..."7"
        if octal.contains(letter), letter == "0" || peek().map(octal.contains) == true {
            // `\0`, `\012`, `\123`: up to three octal digits.
            var value = letter.value - 0x30
            for _ in 0..<2 {
                guard let digit = peek(), octal.contains(digit) else { break }
                value = value * 8 + digit.value - 0x30
                position += 1
            }
            return .scalar(Unicode.Scalar(value) ?? "\u{FFFD}")
        }
        if ("1"..."9").contains(letter) { throw error("backreferences are not supported: `\\\(letter)`") }
        switch letter {
        case "x": return .scalar(try hexEscape())
        case "a": return .scalar("\u{07}")
        case "f": return .scalar("\u{0C}")
        case "t": return .scalar("\t")
        case "n": return .scalar("\n")
        case "r": return .scalar("\r")
        case "v": return .scalar("\u{0B}")
        case "d", "D", "s", "S", "w", "W":
            return .set(RegexCharSet.perl(letter) ?? RegexCharSet())
        case "p", "P":
            return .set(try unicodeClass(negated: letter == "P"))
        case "b" where !inClass: return .assertion(.wordBoundary)
        case "B" where !inClass: return .assertion(.notWordBoundary)
        case "A" where !inClass: return .assertion(.beginText)
        case "z" where !inClass: return .assertion(.endText)
        default:
            let alphanumeric = letter.properties.isAlphabetic || letter.properties.numericType != nil
            guard letter.isASCII, !alphanumeric else { throw error("invalid escape sequence: `\\\(letter)`") }
            return .scalar(letter)
        }
    }

    /// `\xHH` or `\x{H...}` (at most U+10FFFF).
    private mutating func hexEscape() throws(LinearRegex.Failure) -> Unicode.Scalar {
        var value: UInt32 = 0
        if peek() == "{" {
            position += 1
            var digits = 0
            while let next = peek(), let digit = Self.hexValue(next) {
                value = min(value * 16 + digit, 0x110000)
                digits += 1
                position += 1
            }
            guard digits > 0, peek() == "}", let scalar = Unicode.Scalar(value) else { throw error("invalid escape sequence: `\\x{`") }
            position += 1
            return scalar
        }
        for _ in 0..<2 {
            guard let next = peek(), let digit = Self.hexValue(next) else { throw error("invalid escape sequence: `\\x`") }
            value = value * 16 + digit
            position += 1
        }
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": return scalar.value - 0x30
        case "a"..."f": return scalar.value - 0x61 + 10
        case "A"..."F": return scalar.value - 0x41 + 10
        default: return nil
        }
    }

    /// `\pL`, `\p{Lu}`, `\p{^L}`, `\PL`: general categories only.
    private mutating func unicodeClass(negated: Bool) throws(LinearRegex.Failure) -> RegexCharSet {
        var name = ""
        if peek() == "{" {
            let start = position
            position += 1
            while let next = peek(), next != "}" {
                name.unicodeScalars.append(next)
                position += 1
            }
            guard peek() == "}" else { throw error("invalid character class range: `\(text(from: start))`") }
            position += 1
        } else if let next = peek() {
            name.unicodeScalars.append(next)
            position += 1
        }
        var excluded = negated
        if name.hasPrefix("^") {
            excluded.toggle()
            name.removeFirst()
        }
        guard let mask = RegexCharSet.categoryMask(name) else {
            throw error("unsupported Unicode class `\(name)`: only general categories (L, Lu, N, Nd...) and Any are supported")
        }
        var set = RegexCharSet()
        if excluded { set.excludedCategories = [mask] } else { set.categories = mask }
        return set
    }

    // MARK: - Bracketed classes

    /// `[...]` or `[^...]`; `]` first is a literal, as is `-` first or last.
    mutating func bracketClass() throws(LinearRegex.Failure) -> Int {
        let start = position
        position += 1
        var set = RegexCharSet()
        set.foldCase = flags.caseInsensitive
        if peek() == "^" {
            set.negated = true
            position += 1
        }
        var first = true
        while true {
            guard let next = peek() else { throw error("missing closing ]: `\(text(from: start))`") }
            if next == "]", !first {
                position += 1
                break
            }
            first = false
            if next == "[", peek(1) == ":", let posix = try posixClass() {
                set.formUnion(posix)
                continue
            }
            let rangeStart = position
            let low: Unicode.Scalar
            switch try classMember() {
            case .scalar(let scalar): low = scalar
            case .set(let member): set.formUnion(member); continue
            case .assertion: continue   // not produced inside a class
            }
            if peek() == "-", let after = peek(1), after != "]" {
                position += 1
                guard case .scalar(let high) = try classMember(), high >= low else {
                    throw error("invalid character class range: `\(text(from: rangeStart))`")
                }
                set.ranges.append(low.value...high.value)
            } else {
                set.ranges.append(low.value...low.value)
            }
        }
        return intern(set)
    }

    private mutating func classMember() throws(LinearRegex.Failure) -> Escape {
        guard let next = peek() else { throw error("missing closing ]") }
        if next == "\\" { return try escape(inClass: true) }
        position += 1
        return .scalar(next)
    }

    /// `[:alpha:]` inside a class; nil when no `:]` follows (then `[` is a
    /// literal).
    private mutating func posixClass() throws(LinearRegex.Failure) -> RegexCharSet? {
        var end = position + 2
        while end + 1 < scalars.count, !(scalars[end] == ":" && scalars[end + 1] == "]") { end += 1 }
        guard end + 1 < scalars.count else { return nil }
        var name = ""
        name.unicodeScalars.append(contentsOf: scalars[(position + 2)..<end])
        guard let set = RegexCharSet.posix(name) else { throw error("invalid character class range: `[:\(name):]`") }
        position = end + 2
        return set
    }
}
