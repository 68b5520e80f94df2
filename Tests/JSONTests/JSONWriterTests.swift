import TestSupport
import JSON
import Testing

@Suite struct JSONWriterTests {
    private func text(_ writer: JSONWriter) -> String { String(decoding: writer.bytes, as: UTF8.self) }

    @Test func writer_object_compactWithCommas() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("Name", "web")
        writer.field("Port", 8080)
        writer.field("Tags", ["a", "b"])
        writer.key("Meta"); writer.beginObject(); writer.endObject()
        writer.key("Checks"); writer.beginArray(); writer.null(); writer.bool(false); writer.endArray()
        writer.field("Weight", 1.5)
        writer.field("Index", UInt64.max)
        writer.endObject()
        #expect(text(writer) == #"{"Name":"web","Port":8080,"Tags":["a","b"],"Meta":{},"Checks":[null,false],"Weight":1.5,"Index":18446744073709551615}"#)
    }

    @Test func writer_topLevelScalarsAndArrays() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.int(Int.min)
        writer.int(0)
        writer.string("")
        writer.beginArray(); writer.endArray()
        writer.endArray()
        #expect(text(writer) == "[-9223372036854775808,0,\"\",[]]")
    }

    @Test func writer_strings_escapeQuotesBackslashesAndControls() {
        var writer = JSONWriter()
        writer.string("a\"b\\c\nd\re\tf\u{0}g\u{1F}h\u{7F}/é😀")
        #expect(text(writer) == #""a\"b\\c\nd\re\tf\u0000g\u001fh"# + "\u{7F}/é😀\"")
    }

    @Test func writer_appendingToExistingBuffer_keepsPrefix() {
        var writer = JSONWriter(appendingTo: Array("prefix:".utf8))
        writer.bool(true)
        #expect(text(writer) == "prefix:true")
    }

    @Test func writer_raw_insertsFragmentAsValue() {
        var writer = JSONWriter()
        writer.beginArray(); writer.raw(Array(#"{"x":1}"#.utf8)); writer.int(2); writer.endArray()
        #expect(text(writer) == #"[{"x":1},2]"#)
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (-3.0, "-3"), (1.5, "1.5"), (0.1, "0.1"),
        (123456789.0, "123456789"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
        (1.5e300, "1.5e+300"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1.25e-10, "1.25e-10"),
        (-2.5e-8, "-2.5e-8"), (0.000123, "0.000123"), (9007199254740993.0, "9007199254740992"),
        (12345.678, "12345.678"), (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (Double.nan, "null"), (Double.infinity, "null"), (-Double.infinity, "null"),
    ])
    func writer_double_formatsLikeGo(value: Double, expected: String) {
        var writer = JSONWriter()
        writer.double(value)
        #expect(text(writer) == expected)
    }

    @Test func writer_doubles_roundTripThroughParser() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let value = Double(bitPattern: rng.next())
            guard value.isFinite else { continue }
            var writer = JSONWriter()
            writer.double(value)
            #expect(try JSONValue.parse(writer.bytes) == .number(value), "\(text(writer))")
        }
    }

    @Test func pretty_matchesGoMarshalIndent() {
        let value: JSONValue = ["Node": "n1", "Tags": ["a", "b"], "Meta": [:], "Empty": [], "Nested": ["x": [["y": nil]]]]
        let expected = """
            {
                "Node": "n1",
                "Tags": [
                    "a",
                    "b"
                ],
                "Meta": {},
                "Empty": [],
                "Nested": {
                    "x": [
                        {
                            "y": null
                        }
                    ]
                }
            }
            """
        #expect(value.serializedString(pretty: true) == expected)
        #expect(JSONValue.array([1, 2]).serializedString(pretty: true) == "[\n    1,\n    2\n]")
        #expect(JSONValue.string("s").serializedString(pretty: true) == "\"s\"")
    }

    @Test func serialized_compact_hasNoWhitespace() {
        let value: JSONValue = ["a": [1, "two", true, nil, 2.5], "b": ["c": [:]]]
        #expect(value.serializedString() == #"{"a":[1,"two",true,null,2.5],"b":{"c":{}}}"#)
        #expect(value.description == value.serializedString())
    }

    @Test func roundTrip_parseSerializeParse_isIdentity() throws {
        let texts = [
            #"{"ID":"web-1","Service":"web","Tags":["v1","primary"],"Port":8080,"Meta":{"k":"v"},"Weights":{"Passing":1,"Warning":1}}"#,
            #"[null,true,false,0,-1,3.25,1e-7,1e+21,"\u0000\"\\\n",[],{},[[[]]]]"#,
            "\"😀 日本 \\ud83d\"",
        ]
        for text in texts {
            let value = try JSONValue.parse(text)
            #expect(try JSONValue.parse(value.serialized()) == value)
            #expect(try JSONValue.parse(value.serialized(pretty: true)) == value)
            // Compact output is canonical: serializing twice is stable.
            #expect(try JSONValue.parse(value.serialized()).serialized() == value.serialized())
        }
    }
}
