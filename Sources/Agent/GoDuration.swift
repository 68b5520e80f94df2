/// Go's `time.ParseDuration` syntax, which Consul's configuration uses for
/// every duration (`"10s"`, `"1m30s"`, `"1h2m3.5s"`, `"300ms"`).
///
/// One or more `<number><unit>` terms, the number a decimal with an optional
/// fraction (`1.5h`, `.5s`), the unit one of `ns`, `us`, `µs`, `μs`, `ms`,
/// `s`, `m`, `h`; a bare `"0"` is zero. Unlike Go, negative durations are
/// refused (nothing in the agent's configuration may be negative), as is
/// anything past Go's limit of 2^63-1 nanoseconds (about 292 years).
public enum GoDuration {
    /// The duration `text` spells, or nil when it is not valid Go syntax,
    /// is negative or overflows.
    public static func parse(_ text: String) -> Duration? {
        guard let nanoseconds = parseNanoseconds(text) else { return nil }
        return .nanoseconds(nanoseconds)
    }

    /// Like `parse`, in whole nanoseconds.
    public static func parseNanoseconds(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        if bytes.elementsEqual("0".utf8) { return 0 }
        guard !bytes.isEmpty else { return nil }
        let limit = UInt64(Int64.max)
        var total: UInt64 = 0
        while !bytes.isEmpty {
            // The number: digits, then an optional fraction; at least one digit overall.
            var whole: UInt64 = 0
            var sawWhole = false
            while let b = bytes.first, isDigit(b) {
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
                guard !o1, !o2, sum <= limit else { return nil }
                whole = sum
                sawWhole = true
                bytes = bytes.dropFirst()
            }
            var fraction: UInt64 = 0
            var scale: Double = 1
            var sawFraction = false
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                var overflowed = false
                while let b = bytes.first, isDigit(b) {
                    sawFraction = true
                    bytes = bytes.dropFirst()
                    guard !overflowed else { continue }
                    let (times10, o1) = fraction.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
                    if o1 || o2 || sum > limit {
                        overflowed = true  // further digits cannot matter at nanosecond precision
                        continue
                    }
                    fraction = sum
                    scale *= 10
                }
            }
            guard sawWhole || sawFraction else { return nil }

            // The unit: everything up to the next digit or dot.
            let unitEnd = bytes.firstIndex(where: { isDigit($0) || $0 == UInt8(ascii: ".") }) ?? bytes.endIndex
            guard let unit = unitNanoseconds(bytes[bytes.startIndex..<unitEnd]) else { return nil }
            bytes = bytes[unitEnd...]

            guard whole <= limit / unit else { return nil }
            var term = whole * unit
            if fraction > 0 {
                let extra = Double(fraction) * (Double(unit) / scale)
                guard extra < 9.2e18 else { return nil }
                let (sum, overflow) = term.addingReportingOverflow(UInt64(extra))
                guard !overflow, sum <= limit else { return nil }
                term = sum
            }
            let (sum, overflow) = total.addingReportingOverflow(term)
            guard !overflow, sum <= limit else { return nil }
            total = sum
        }
        return Int64(total)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func unitNanoseconds(_ unit: ArraySlice<UInt8>) -> UInt64? {
        switch Array(unit) {
        case Array("ns".utf8): 1
        case Array("us".utf8), [0xC2, 0xB5, 0x73], [0xCE, 0xBC, 0x73]: 1_000  // us, µs (U+00B5), μs (U+03BC)
        case Array("ms".utf8): 1_000_000
        case Array("s".utf8): 1_000_000_000
        case Array("m".utf8): 60_000_000_000
        case Array("h".utf8): 3_600_000_000_000
        default: nil
        }
    }
}
