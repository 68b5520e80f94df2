/// A set of Unicode scalars for the regular-expression engine: ranges plus
/// Unicode general categories (for `\pL`, `\p{Lu}`...). Perl and POSIX
/// classes are ASCII ranges, as in RE2 (`\d` is `[0-9]`, `\w` `[0-9A-Za-z_]`,
/// `\s` `[\t\n\f\r ]`).
struct RegexCharSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    /// One bit per general category (see `categoryNames`): scalars of these
    /// categories are in the set.
    var categories: UInt32 = 0
    /// From `\P{..}`: each entry adds every scalar *outside* its categories.
    var excludedCategories: [UInt32] = []
    /// `[^...]`.
    var negated = false
    /// `(?i)`: a scalar is in the set if its lower or upper case is.
    var foldCase = false

    static let maxScalar: UInt32 = 0x10FFFF

    init(ranges: [ClosedRange<UInt32>] = []) { self.ranges = ranges }

    func contains(_ scalar: Unicode.Scalar, lower: Unicode.Scalar, upper: Unicode.Scalar) -> Bool {
        var found = containsExactly(scalar)
        if !found, foldCase { found = containsExactly(lower) || containsExactly(upper) }
        return found != negated
    }

    private func containsExactly(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        for range in ranges where range.contains(value) { return true }
        guard categories != 0 || !excludedCategories.isEmpty else { return false }
        let bit = Self.categoryBit(scalar)
        if categories & bit != 0 { return true }
        for excluded in excludedCategories where excluded & bit == 0 { return true }
        return false
    }

    mutating func formUnion(_ other: RegexCharSet) {
        ranges += other.ranges
        categories |= other.categories
        excludedCategories += other.excludedCategories
    }

    /// The ranges not covered by `ranges`, over all scalar values.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            if range.upperBound >= maxScalar { return result }
            next = max(next, range.upperBound + 1)
        }
        result.append(next...maxScalar)
        return result
    }

    // MARK: - Named classes

    private static func ascii(_ pairs: [(Character, Character)]) -> [ClosedRange<UInt32>] {
        pairs.compactMap { pair in
            guard let low = pair.0.unicodeScalars.first?.value, let high = pair.1.unicodeScalars.first?.value else { return nil }
            return low...high
        }
    }

    /// `\d \s \w` (and, upper-cased, their complements).
    static func perl(_ letter: Unicode.Scalar) -> RegexCharSet? {
        let ranges: [ClosedRange<UInt32>]
        switch letter {
        case "d", "D": ranges = ascii([("0", "9")])
        case "s", "S": ranges = [9...10, 12...13, 32...32]
        case "w", "W": ranges = ascii([("0", "9"), ("A", "Z"), ("a", "z"), ("_", "_")])
        default: return nil
        }
        let negated = letter.properties.isUppercase
        return RegexCharSet(ranges: negated ? complement(ranges) : ranges)
    }

    /// `[:alpha:]` and the other POSIX classes RE2 knows.
    static func posix(_ name: String) -> RegexCharSet? {
        let negated = name.hasPrefix("^")
        let ranges: [ClosedRange<UInt32>]
        switch negated ? String(name.dropFirst()) : name {
        case "alnum": ranges = ascii([("0", "9"), ("A", "Z"), ("a", "z")])
        case "alpha": ranges = ascii([("A", "Z"), ("a", "z")])
        case "ascii": ranges = [0...0x7F]
        case "blank": ranges = [9...9, 32...32]
        case "cntrl": ranges = [0...0x1F, 0x7F...0x7F]
        case "digit": ranges = ascii([("0", "9")])
        case "graph": ranges = [0x21...0x7E]
        case "lower": ranges = ascii([("a", "z")])
        case "print": ranges = [0x20...0x7E]
        case "punct": ranges = [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
        case "space": ranges = [9...13, 32...32]
        case "upper": ranges = ascii([("A", "Z")])
        case "word": ranges = ascii([("0", "9"), ("A", "Z"), ("a", "z"), ("_", "_")])
        case "xdigit": ranges = ascii([("0", "9"), ("A", "F"), ("a", "f")])
        default: return nil
        }
        return RegexCharSet(ranges: negated ? complement(ranges) : ranges)
    }

    /// The two-letter general categories, in the order of their bits.
    static let categoryNames = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No",
                                "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So",
                                "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"]

    /// The category bits a `\p{name}` names: a category (`Lu`), a major
    /// class (`L`) or `Any`; nil for scripts (`Greek`), which we lack tables for.
    static func categoryMask(_ name: String) -> UInt32? {
        if name == "Any" { return (1 << UInt32(categoryNames.count)) - 1 }
        var mask: UInt32 = 0
        for (bit, category) in categoryNames.enumerated() where category == name || (name.count == 1 && category.hasPrefix(name)) {
            mask |= 1 << UInt32(bit)
        }
        return mask == 0 ? nil : mask
    }

    static func categoryBit(_ scalar: Unicode.Scalar) -> UInt32 {
        let index: UInt32
        switch scalar.properties.generalCategory {
        case .uppercaseLetter: index = 0
        case .lowercaseLetter: index = 1
        case .titlecaseLetter: index = 2
        case .modifierLetter: index = 3
        case .otherLetter: index = 4
        case .nonspacingMark: index = 5
        case .spacingMark: index = 6
        case .enclosingMark: index = 7
        case .decimalNumber: index = 8
        case .letterNumber: index = 9
        case .otherNumber: index = 10
        case .connectorPunctuation: index = 11
        case .dashPunctuation: index = 12
        case .openPunctuation: index = 13
        case .closePunctuation: index = 14
        case .initialPunctuation: index = 15
        case .finalPunctuation: index = 16
        case .otherPunctuation: index = 17
        case .mathSymbol: index = 18
        case .currencySymbol: index = 19
        case .modifierSymbol: index = 20
        case .otherSymbol: index = 21
        case .spaceSeparator: index = 22
        case .lineSeparator: index = 23
        case .paragraphSeparator: index = 24
        case .control: index = 25
        case .format: index = 26
        case .surrogate: index = 27
        case .privateUse: index = 28
        default: index = 29   // unassigned
        }
        return 1 << index
    }

    // MARK: - Case folding

    /// The scalar's simple lower case (itself when the full mapping is not
    /// one scalar). ASCII takes a fast path: the matcher calls this per
    /// input character when the pattern uses `(?i)`.
    static func lower(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value < 0x80 {
            guard scalar.value >= 0x41, scalar.value <= 0x5A, let folded = Unicode.Scalar(scalar.value + 0x20) else { return scalar }
            return folded
        }
        return single(scalar.properties.lowercaseMapping) ?? scalar
    }

    static func upper(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value < 0x80 {
            guard scalar.value >= 0x61, scalar.value <= 0x7A, let folded = Unicode.Scalar(scalar.value - 0x20) else { return scalar }
            return folded
        }
        return single(scalar.properties.uppercaseMapping) ?? scalar
    }

    private static func single(_ mapping: String) -> Unicode.Scalar? {
        var scalars = mapping.unicodeScalars.makeIterator()
        guard let first = scalars.next(), scalars.next() == nil else { return nil }
        return first
    }

    static func hasCase(_ scalar: Unicode.Scalar) -> Bool {
        lower(scalar) != scalar || upper(scalar) != scalar
    }
}
