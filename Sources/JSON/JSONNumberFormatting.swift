// Doubles formatted the way Go's encoding/json does (so our output matches
// Consul's byte for byte): shortest round-trip digits, plain decimal notation
// for 1e-6 <= |x| < 1e21, otherwise exponent notation like `1e+21`, `1e-7`.
// Integral values never get a `.0`.

/// Appends `value` as a JSON number; NaN and infinities become `null`.
func appendJSONNumber(_ value: Double, to bytes: inout [UInt8]) {
    guard value.isFinite else {
        bytes.append(contentsOf: Array("null".utf8))
        return
    }
    // Fast path for the common case: integral values exactly representable.
    if value == value.rounded(.towardZero) && Swift.abs(value) < 9.007_199_254_740_992e15 {
        if value == 0 && value.sign == .minus { bytes.append(UInt8(ascii: "-")) }
        appendInteger(Int(value), to: &bytes)
        return
    }
    let (digits, pointPosition) = shortestDigits(of: Swift.abs(value))
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    let magnitude = Swift.abs(value)
    if magnitude < 1e-6 || magnitude >= 1e21 {
        appendExponentForm(digits: digits, exponent: pointPosition - 1, to: &bytes)
    } else {
        appendPlainForm(digits: digits, pointPosition: pointPosition, to: &bytes)
    }
}

/// The shortest decimal digits that round-trip (Swift's `description` already
/// computes them) and where the decimal point goes: value = 0.DIGITS * 10^point.
private func shortestDigits(of value: Double) -> (digits: [UInt8], pointPosition: Int) {
    var digits: [UInt8] = []
    var digitsBeforePoint = 0
    var seenPoint = false
    var exponent = 0
    var exponentNegative = false
    var inExponent = false
    for byte in value.description.utf8 {
        switch byte {
        case UInt8(ascii: "."): seenPoint = true
        case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
        case UInt8(ascii: "-") where inExponent: exponentNegative = true
        case UInt8(ascii: "+"): break
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if inExponent {
                exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
            } else {
                digits.append(byte)
                if !seenPoint { digitsBeforePoint += 1 }
            }
        default: break
        }
    }
    var pointPosition = digitsBeforePoint + (exponentNegative ? -exponent : exponent)
    // Normalize: no leading or trailing zeros in the digit string.
    var leading = 0
    while leading < digits.count - 1 && digits[leading] == UInt8(ascii: "0") { leading += 1 }
    digits.removeFirst(leading)
    pointPosition -= leading
    while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast() }
    return (digits, pointPosition)
}

private func appendPlainForm(digits: [UInt8], pointPosition: Int, to bytes: inout [UInt8]) {
    if pointPosition <= 0 {
        bytes.append(UInt8(ascii: "0"))
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -pointPosition))
        bytes.append(contentsOf: digits)
    } else if pointPosition >= digits.count {
        bytes.append(contentsOf: digits)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: pointPosition - digits.count))
    } else {
        bytes.append(contentsOf: digits[..<pointPosition])
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: digits[pointPosition...])
    }
}

private func appendExponentForm(digits: [UInt8], exponent: Int, to bytes: inout [UInt8]) {
    guard let first = digits.first else { return }
    bytes.append(first)
    if digits.count > 1 {
        bytes.append(UInt8(ascii: "."))
        bytes.append(contentsOf: digits[1...])
    }
    bytes.append(UInt8(ascii: "e"))
    bytes.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
    appendInteger(Swift.abs(exponent), to: &bytes)
}
