import Filter
import JSON
import Testing

/// Every operator on every kind of datum, and missing keys in maps and
/// structs, as go-bexpr's evaluate_test.go checks them.
@Suite struct FilterOperatorTests {
    static let datum = #"""
    {"String":"exported","Empty":"","Int":-1,"Port":80,"Float":1.2,"Bool":true,"False":false,
     "Tags":["v1","primary"],"NoTags":[],"Mixed":["foobar",1,true,null,{"a":1}],"Ints":[1,3,5],
     "Null":null,"Meta":{"rack":"r1","co:lon":"x","email":"foo@example.com"},"NodeMeta":{},
     "Nested":{"Inner":{"X":1}},"Composed":"é"}
    """#

    func check(_ expression: String) throws -> Bool {
        try evaluate(expression, on: Self.datum)
    }

    @Test(arguments: [
        ("String == exported", true), ("String == `not-it`", false),
        ("String != exported", false), ("String != `not-it`", true),
        ("String contains port", true), ("port in String", true), ("part in String", false),
        ("part not in String", true), ("String not contains port", false), ("String contains \"\"", true),
        ("String matches `^ex.*`", true), ("String matches `^anchored`", false),
        ("String not matches `^ex.*`", false), ("String not matches `^anchored`", true),
        ("String is empty", false), ("String is not empty", true), ("Empty is empty", true),
        ("Empty == \"\"", true),
        // Bytes, as Go compares: a decomposed é is not the precomposed one.
        (#"Composed == "e\u0301""#, false), (#"Composed == "\u00e9""#, true),
    ])
    func strings(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test func contains_findsOverlappingAndLongNeedles() throws {
        let datum = #"{"Text":"aabaabaaa"}"#
        #expect(try evaluate("Text contains aabaaa", on: datum))
        #expect(try evaluate("Text contains abaab", on: datum))
        #expect(try evaluate("Text contains aaaa", on: datum) == false)
        #expect(try evaluate("Text contains aabaabaaaa", on: datum) == false)
        let long = #"{"Text":""# + String(repeating: "a", count: 100_000) + #""}"#
        let needle = String(repeating: "a", count: 4000)
        #expect(try evaluate("Text contains `\(needle)b`", on: long) == false)
        #expect(try evaluate("Text contains `\(needle)`", on: long))
    }

    @Test(arguments: [
        ("Int == -1", true), ("Int == -99", false), ("Int != -1", false), ("Int != -99", true),
        ("Port == 80", true), ("Port == 80.0", true), ("Port == \"80\"", true), ("Port == `0x50`", true),
        ("Port == `1_0`", false), ("Port == `8_0`", true), ("Port == `0b1010000`", true),
        ("Float == 1.2", true), ("Float == 9.9", false), ("Float != 1.2", false),
        ("Bool == true", true), ("Bool == false", false), ("Bool != true", false), ("Bool == T", true),
        ("Bool == 1", true), ("Bool == True", true), ("False == 0", true), ("False == f", true),
    ])
    func numbersAndBools_coerceTheValue(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test(arguments: [
        ("Port == abc", "not a number"), ("Port != abc", "not a number"), ("Bool == yes", "not a boolean"),
        ("Port contains 8", "in/contains operations on type number"),
        ("Bool not contains true", "in/contains operations on type bool"),
        ("Port is empty", "is-empty operations on type number"),
        ("String is nil", "is-nil operations on type string"),
        ("Port is not nil", "is-nil operations on type number"),
        ("Port matches `8`", "matches operations on type number"),
        ("Tags == v1", "unable to find suitable primitive comparison"),
        ("Meta != x", "unable to find suitable primitive comparison"),
        ("Null == x", "unable to find suitable primitive comparison"),
        ("Nested contains Inner", "in/contains operations on type struct"),
        ("Nested is not empty", "is-empty operations on type struct"),
        ("Port.x == 1", "invalid value kind: number"),
        ("String.0 == e", "invalid value kind: string"),
    ])
    func kindMismatches_areErrors(expression: String, fragment: String) throws {
        let message = try #require(failure(expression, on: Self.datum), "\(expression) succeeded")
        #expect(message.contains(fragment), "\(expression): \(message)")
    }

    @Test(arguments: [
        ("Tags contains v1", true), ("v1 in Tags", true), ("v3 in Tags", false), ("v3 not in Tags", true),
        ("Tags not contains primary", false), ("Tags is empty", false), ("Tags is not empty", true),
        ("NoTags is empty", true), ("v1 in NoTags", false), ("Tags is nil", false), ("Tags is not nil", true),
        ("Tags.0 == v1", true), ("Tags.1 == primary", true), ("Tags.1 != primary", false),
        ("3 in Ints", true), ("3.0 in Ints", true), ("4 in Ints", false),
        // Elements of another kind are skipped, so a word never trips over numbers.
        ("abc in Ints", false),
        ("foobar in Mixed", true), ("\"1\" in Mixed", true), ("\"true\" in Mixed", true), ("\"2\" in Mixed", false),
        ("a in Mixed", false),
    ])
    func lists(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test func listIndex_outOfRange_isAnError() throws {
        let message = try #require(failure("Tags.5 == v1", on: Self.datum))
        #expect(message.contains("/Tags/5 at part 1: index 5 is out of range (length = 2)"), "\(message)")
    }

    @Test(arguments: [
        ("Meta contains rack", true), ("rack in Meta", true), ("r1 in Meta", false), ("nope not in Meta", true),
        ("Meta.rack == r1", true), ("Meta.rack != r1", false), ("Meta.rack contains r", true),
        (#"Meta["co:lon"] == x"#, true), (#""/Meta/co:lon" == x"#, true),
        (#"Meta.email matches "(foz|foo)@example.com""#, true),
        ("Meta is empty", false), ("NodeMeta is empty", true), ("Meta is not nil", true), ("Nested is nil", false),
        ("Meta contains rack and Meta contains email", true),
    ])
    func maps(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test(arguments: [
        ("Meta.notfound == 4", false), ("Meta.notfound != 4", true),
        ("4 in Meta.notfound", false), ("4 not in Meta.notfound", true),
        ("Meta.notfound contains 4", false), ("Meta.notfound not contains 4", true),
        ("Meta.notfound is empty", true), ("Meta.notfound is not empty", false),
        ("Meta.notfound matches `.*`", false), ("Meta.notfound not matches `.*`", true),
        ("Meta.notfound is nil", true), ("Meta.notfound is not nil", false),
    ])
    func missingMapKey_usesTheOperatorsDisposition(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test(arguments: [
        "Nested.Notfound == 4", "Nested.Notfound != 4", "4 in Nested.Notfound", "4 not in Nested.Notfound",
        "Nested.Notfound is empty", "Nested.Notfound is not empty", "Nested.Notfound matches `.*`",
        "Nested.Notfound not matches `.*`", "Nested.Notfound is nil",
    ])
    func missingStructField_isAnError(expression: String) throws {
        let message = try #require(failure(expression, on: Self.datum), "\(expression) succeeded")
        #expect(message == #"error finding value in datum: /Nested/Notfound at part 1: couldn't find key: struct field with name "Notfound""#)
    }

    @Test func missingTopLevelField_isAnError() throws {
        let message = try #require(failure("Nope == 1", on: Self.datum))
        #expect(message.contains(#"/Nope at part 0: couldn't find key: struct field with name "Nope""#))
    }

    @Test func missingKeyInsideAMissingMapKey_isAnError() throws {
        // go-bexpr only excuses a missing *last* key.
        let message = try #require(failure("Meta.a.b == x", on: Self.datum))
        #expect(message.contains(#"/Meta/a/b at part 1: couldn't find key "a""#), "\(message)")
    }

    @Test func mapFields_areConfigurable() throws {
        let datum = #"{"Labels":{"a":"1"},"Meta":{"a":"1"}}"#
        #expect(throws: FilterExpression.Failure.self) { try evaluate("Labels.b != 1", on: datum) }
        #expect(try evaluate("Labels.b != 1", on: datum, maps: ["Labels"]))
        // Without "Meta" among the maps, Meta is a struct.
        #expect(throws: FilterExpression.Failure.self) { try evaluate("Meta.b != 1", on: datum, maps: ["Labels"]) }
        // The default call treats Consul's map fields as maps.
        let filter = try FilterExpression.parse("Meta.b != 1")
        #expect(try filter.matches(JSONValue.parse(datum)))
    }

    @Test(arguments: [
        // A null is an empty list (Go's nil slice) unless it stands for a map.
        ("Null is nil", true), ("Null is not nil", false), ("Null is empty", true),
        ("x in Null", false), ("x not in Null", true), ("Null.Field == x", false), ("Null.Field != x", false),
    ])
    func null_isNilAndEmpty(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test func nullMap_isAnEmptyMap() throws {
        let datum = #"{"Meta":null}"#
        #expect(try evaluate("Meta.x != y", on: datum))
        #expect(try evaluate("Meta.x == y", on: datum) == false)
        #expect(try evaluate("Meta is empty", on: datum))
        #expect(try evaluate("x in Meta", on: datum) == false)
    }

    @Test func rawStrings_keepBackslashesAndQuotes() throws {
        let datum = #"{"Output":"a \"quoted\" \\ word","Path":"C:\\x"}"#
        #expect(try evaluate(#"Output contains `"quoted" \ word`"#, on: datum))
        #expect(try evaluate(#"Path == `C:\x`"#, on: datum))
        #expect(try evaluate(#"Path matches `^C:\\x$`"#, on: datum))
    }
}
