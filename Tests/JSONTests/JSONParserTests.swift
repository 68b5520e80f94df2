import JSON
import Testing

@Suite struct JSONParserTests {
    @Test func parse_scalars_giveMatchingValues() throws {
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse(" false ") == .bool(false))
        #expect(try JSONValue.parse("\"hi\"") == .string("hi"))
        #expect(try JSONValue.parse("42") == .number(42))
        #expect(try JSONValue.parse("\t\r\n 7 \n") == .number(7))
    }

    @Test func parse_nestedDocument_keepsKeyOrderAndStructure() throws {
        let text = #"{"b": [1, 2, {"c": null}], "a": {"z": true, "y": "s"}, "e": []}"#
        let value = try JSONValue.parse(text)
        let expected: JSONValue = ["b": [1, 2, ["c": nil]], "a": ["z": true, "y": "s"], "e": []]
        #expect(value == expected)
        #expect(value.objectValue?.map(\.0) == ["b", "a", "e"])
        #expect(value["a"]?.objectValue?.map(\.0) == ["z", "y"])
    }

    @Test func parse_emptyContainers() throws {
        #expect(try JSONValue.parse("{}") == .object([]))
        #expect(try JSONValue.parse("[ ]") == .array([]))
        #expect(try JSONValue.parse("[{},[]]") == [.object([]), []])
    }

    @Test func parse_numbers_followRFCGrammar() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("123", 123), ("-17", -17), ("1.5", 1.5), ("-0.25", -0.25),
            ("1e3", 1000), ("1E3", 1000), ("1e+3", 1000), ("2.5e-3", 0.0025), ("1e-400", 0),
            ("9007199254740993", 9_007_199_254_740_992), ("123456789012345678901234567890", 1.2345678901234568e29),
            ("999999999999999", 999_999_999_999_999), ("-999999999999999", -999_999_999_999_999),
            ("1000000000000000", 1e15), ("0.1", 0.1), ("1.7976931348623157e308", 1.7976931348623157e308),
        ]
        for (text, expected) in cases {
            #expect(try JSONValue.parse(text) == .number(expected), "\(text)")
        }
        #expect(try JSONValue.parse("-0").doubleValue?.sign == .minus)
    }

    @Test func parse_stringEscapes_decodeAll() throws {
        let text = #""a\"b\\c\/d\be\ff\ng\rh\ti\u0041\u00e9\u20AC""#
        #expect(try JSONValue.parse(text) == .string("a\"b\\c/d\u{8}e\u{C}f\ng\rh\tiAé€"))
    }

    @Test func parse_surrogatePair_combinesToOneScalar() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""x\uD834\uDD1Ey""#) == .string("x𝄞y"))
    }

    @Test func parse_loneSurrogates_becomeReplacementCharacter() throws {
        #expect(try JSONValue.parse(#""\ud83d""#) == .string("\u{FFFD}"))
        #expect(try JSONValue.parse(#""\ude00x""#) == .string("\u{FFFD}x"))
        #expect(try JSONValue.parse(#""\ud83dabc""#) == .string("\u{FFFD}abc"))
        // A high surrogate followed by a non-low escape: both are decoded.
        #expect(try JSONValue.parse(#""\ud83d\u0041""#) == .string("\u{FFFD}A"))
        #expect(try JSONValue.parse(#""\ud83d\ud83d\ude00""#) == .string("\u{FFFD}😀"))
    }

    @Test func parse_rawUTF8_keptAndInvalidUTF8Replaced() throws {
        #expect(try JSONValue.parse("\"héllo 日本 😀\"") == .string("héllo 日本 😀"))
        let invalid: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(try JSONValue.parse(invalid) == .string("a\u{FFFD}b"))
    }

    @Test func parse_duplicateKeys_keptAndLastWinsOnLookup() throws {
        let value = try JSONValue.parse(#"{"a":1,"a":2}"#)
        #expect(value.objectValue?.count == 2)
        #expect(value["a"] == .number(2))
    }

    @Test func parse_inputKinds_agree() throws {
        let text = #"{"k":[1,"two"]}"#
        let fromString = try JSONValue.parse(text)
        #expect(try JSONValue.parse(Array(text.utf8)) == fromString)
        #expect(try JSONValue.parse(Array(text.utf8)[...]) == fromString)
        #expect(try JSONValue.parse(text.utf8) == fromString)
    }

    @Test func parse_depthLimit_acceptsExactlyMaxDepth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try JSONValue.parse(ok).arrayValue != nil)
        let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONError(.nestingTooDeep(limit: 64), at: 64)) { try JSONValue.parse(tooDeep) }
        let objects = String(repeating: #"{"a":"#, count: 3) + "1" + String(repeating: "}", count: 3)
        #expect(throws: JSONError(.nestingTooDeep(limit: 2), at: 10)) { try JSONValue.parse(objects, maxDepth: 2) }
        #expect(try JSONValue.parse(objects, maxDepth: 3)["a"]?["a"]?["a"] == 1)
    }

    @Test func parse_veryDeepInput_failsWithoutStackOverflow() {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONError(.nestingTooDeep(limit: 64), at: 64)) { try JSONValue.parse(deep) }
        // With the limit lifted the explicit stack carries it. (Kept moderate:
        // destroying a deeply nested value is itself recursive.)
        let balanced = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        #expect(throws: Never.self) { try JSONValue.parse(balanced, maxDepth: .max) }
    }

    @Test(arguments: [
        ("", JSONError(.unexpectedEnd, at: 0)),
        ("   ", JSONError(.unexpectedEnd, at: 3)),
        ("[1,", JSONError(.unexpectedEnd, at: 3)),
        ("{\"a\"", JSONError(.unexpectedEnd, at: 4)),
        ("{\"a\":", JSONError(.unexpectedEnd, at: 5)),
        ("\"abc", JSONError(.unexpectedEnd, at: 4)),
        ("\"ab\\", JSONError(.unexpectedEnd, at: 4)),
        ("\"\\u12", JSONError(.unexpectedEnd, at: 5)),
        ("tru", JSONError(.unexpectedEnd, at: 3)),
        ("-", JSONError(.unexpectedEnd, at: 1)),
        ("x", JSONError(.unexpectedCharacter(UInt8(ascii: "x")), at: 0)),
        ("[1 2]", JSONError(.unexpectedCharacter(UInt8(ascii: "2")), at: 3)),
        ("[1,]", JSONError(.unexpectedCharacter(UInt8(ascii: "]")), at: 3)),
        ("{\"a\":1,}", JSONError(.unexpectedCharacter(UInt8(ascii: "}")), at: 7)),
        ("{a:1}", JSONError(.unexpectedCharacter(UInt8(ascii: "a")), at: 1)),
        ("{\"a\" 1}", JSONError(.unexpectedCharacter(UInt8(ascii: "1")), at: 5)),
        ("[1}", JSONError(.unexpectedCharacter(UInt8(ascii: "}")), at: 2)),
        ("{\"a\":1]", JSONError(.unexpectedCharacter(UInt8(ascii: "]")), at: 6)),
        ("\u{FEFF}1", JSONError(.unexpectedCharacter(0xEF), at: 0)),
        ("truE", JSONError(.invalidLiteral, at: 0)),
        ("[nul1]", JSONError(.invalidLiteral, at: 1)),
        ("fals", JSONError(.unexpectedEnd, at: 4)),
        ("-a", JSONError(.invalidNumber, at: 0)),
        ("1.", JSONError(.invalidNumber, at: 0)),
        ("1.e5", JSONError(.invalidNumber, at: 0)),
        ("1e", JSONError(.invalidNumber, at: 0)),
        ("1e+", JSONError(.invalidNumber, at: 0)),
        ("01", JSONError(.trailingData, at: 1)),
        ("[01]", JSONError(.unexpectedCharacter(UInt8(ascii: "1")), at: 2)),
        ("+1", JSONError(.unexpectedCharacter(UInt8(ascii: "+")), at: 0)),
        (".5", JSONError(.unexpectedCharacter(UInt8(ascii: ".")), at: 0)),
        ("1e400", JSONError(.numberOutOfRange, at: 0)),
        ("[-1e999]", JSONError(.numberOutOfRange, at: 1)),
        ("\"a\\x\"", JSONError(.invalidEscape, at: 2)),
        ("\"\\u12G4\"", JSONError(.invalidUnicodeEscape, at: 1)),
        ("\"\\ud83d\\uZZZZ\"", JSONError(.invalidUnicodeEscape, at: 7)),
        ("\"a\nb\"", JSONError(.controlCharacterInString, at: 2)),
        ("\"a\\n\u{1}\"", JSONError(.controlCharacterInString, at: 4)),
        ("1 2", JSONError(.trailingData, at: 2)),
        ("{} x", JSONError(.trailingData, at: 3)),
        ("nullnull", JSONError(.trailingData, at: 4)),
    ])
    func parse_invalidInput_throwsKindAndOffset(text: String, expected: JSONError) {
        #expect(throws: expected) { try JSONValue.parse(text) }
    }

    @Test func error_description_namesCharacterAndOffset() {
        #expect(JSONError(.unexpectedCharacter(UInt8(ascii: "x")), at: 12).description == "unexpected character 'x' at offset 12")
        #expect(JSONError(.unexpectedCharacter(0x0A), at: 3).description == "unexpected character 0x0a at offset 3")
        #expect(JSONError(.nestingTooDeep(limit: 64), at: 64).description == "nesting deeper than 64 at offset 64")
        #expect(JSONError(.unexpectedEnd, at: 0).message == "unexpected end of input")
    }
}
