/// Why a JSON text was rejected and at which byte offset.
///
/// `description` reads like `unexpected character 'x' at offset 12`, short
/// enough to put straight into an HTTP 400 body.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The input ended inside a value (or was empty).
        case unexpectedEnd
        /// A byte that cannot start or continue the current construct.
        case unexpectedCharacter(UInt8)
        /// Something starting like `true`/`false`/`null` that is not one.
        case invalidLiteral
        /// A number that breaks RFC 8259's grammar (`01`, `1.`, `-`, `1e`).
        case invalidNumber
        /// A number too large for a `Double` (`1e400`).
        case numberOutOfRange
        /// A backslash followed by a character that is not a JSON escape.
        case invalidEscape
        /// `\u` not followed by four hex digits.
        case invalidUnicodeEscape
        /// A raw control character (below U+0020) inside a string.
        case controlCharacterInString
        /// More nested arrays/objects than the parser's `maxDepth`.
        case nestingTooDeep(limit: Int)
        /// Non-whitespace after the complete top-level value.
        case trailingData
    }

    public let kind: Kind
    public let offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// The message without the offset.
    public var message: String {
        switch kind {
        case .unexpectedEnd: return "unexpected end of input"
        case .unexpectedCharacter(let byte): return "unexpected character \(Self.quote(byte))"
        case .invalidLiteral: return "invalid literal"
        case .invalidNumber: return "invalid number"
        case .numberOutOfRange: return "number out of range"
        case .invalidEscape: return "invalid escape sequence"
        case .invalidUnicodeEscape: return "invalid \\u escape"
        case .controlCharacterInString: return "control character in string"
        case .nestingTooDeep(let limit): return "nesting deeper than \(limit)"
        case .trailingData: return "unexpected data after top-level value"
        }
    }

    public var description: String { "\(message) at offset \(offset)" }

    /// Printable ASCII as `'x'`, anything else as hex so messages stay ASCII.
    private static func quote(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let digits = Array("0123456789abcdef")
        return "0x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }
}
