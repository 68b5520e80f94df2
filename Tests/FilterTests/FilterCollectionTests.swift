import Filter
import JSON
import Testing

/// `any`/`all`, the projection through lists of objects, JSON-pointer
/// selectors, and filters over Consul-shaped answers.
@Suite struct FilterCollectionTests {
    static let datum = #"""
    {"Ints":[1,3,5,7,9],"Map":{"foo":"bar","bar":"baz"},"Structs":[{"X":1,"Y":2},{"X":3,"Y":5}],
     "Empty":[],"NodeMeta":{},"TopInt":5,"Meta":{"a":"1","b":"2"},
     "Groups":[{"Tasks":[{"Name":"a"},{"Name":"b"}]},{"Tasks":[{"Name":"c"}]}]}
    """#

    func check(_ expression: String) throws -> Bool {
        try evaluate(expression, on: Self.datum)
    }

    @Test(arguments: [
        ("all Ints as i { i != 42 }", true), ("all Ints as i { i == 1 }", false),
        ("any Ints as i { i == 1 }", true), ("any Ints as i { i == 42 }", false),
        ("any Structs as s { s.X == 3 and s.Y == 5 }", true), ("any Structs as s { s.X == 3 and s.Y == 2 }", false),
        (#"any Structs as s { "/s/X" == 1 }"#, true),
        ("all Structs as s { s.X != 0 }", true), ("all Structs as s { s.X != 3 }", false),
        ("any Ints as i, _ { i == 4 }", true), ("any Ints as i, _ { i == 5 }", false),
        ("any Ints as _, v { v == 9 }", true), ("any Ints as i, v { i == 0 and v == 1 }", true),
        // Empty collections: any is false, all is true.
        ("any Empty as e { e == 1 }", false), ("all Empty as e { e == 1 }", true),
        ("any NodeMeta as k { k == 1 }", false), ("all NodeMeta as k { k == 1 }", true),
    ])
    func lists(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test(arguments: [
        // Over a map, `as k` binds the key, `as k, v` the key and the value.
        ("all Meta as v { v == \"a\" }", false), ("all Meta as k { k != \"hello\" }", true),
        ("any Meta as k { k == b }", true), ("any Meta as k { k == \"1\" }", false),
        ("all Meta as k, _ { k != \"a\" }", false), ("all Meta as k, _ { k != \"c\" }", true),
        ("any Meta as k, v { k == b and v == 2 }", true), ("any Meta as k, v { k == b and v == 1 }", false),
        ("all Meta as _, v { v matches `^[0-9]$` }", true),
        // A key missing from a map is an empty collection.
        ("all Meta.nope as x { x == 1 }", true), ("any Meta.nope as x { x == 1 }", false),
    ])
    func maps(expression: String, expected: Bool) throws {
        #expect(try check(expression) == expected, "\(expression)")
    }

    @Test func nested_andShadowed() throws {
        #expect(try check("any Groups as g { any g.Tasks as t { t.Name == c } }"))
        #expect(try check("all Groups as g { any g.Tasks as t { t.Name == c } }") == false)
        #expect(try check("all Groups as g { all g.Tasks as t { t.Name matches `^[abc]$` } }"))
        // The inner `t` hides the outer one.
        #expect(try check("any Groups as t { any t.Tasks as t { t.Name == a } }"))
        // Outer names stay visible inside, and datum fields too.
        #expect(try check("any Groups as g { any g.Tasks as t { t.Name == c and g.Tasks is not empty and TopInt == 5 } }"))
    }

    @Test func collections_combineWithBooleanOperators() throws {
        // go-bexpr accepts these only parenthesised; here any/all are primaries.
        #expect(try check("any Ints as i { i == 3 } and TopInt == 5"))
        #expect(try check("not any Ints as i { i == 4 }"))
        #expect(try check("TopInt == 4 or all Ints as i { i != 10 }"))
        #expect(try check("(any Ints as i { i == 3 }) and not (all Ints as i { i == 3 })"))
    }

    @Test(arguments: [
        ("all TopInt as k, v { k != foo }", "TopInt is not a list or a map"),
        ("any Structs.0 as x { x == 1 }", "Structs.0 is not a list or a map"),
        ("any Meta as k { k.Color == red }", "/k references a string so /k/Color is invalid"),
        ("any Ints as i, _ { i.Color == red }", "/i references a int so /i/Color is invalid"),
        ("any Structs as s { s.Z == 1 }", #"/s/Z at part 1: couldn't find key: struct field with name "Z""#),
    ])
    func collectionErrors(expression: String, fragment: String) throws {
        let message = try #require(failure(expression, on: Self.datum), "\(expression) succeeded")
        #expect(message.contains(fragment), "\(expression): \(message)")
    }

    // MARK: - Projection through lists of objects

    @Test(arguments: [
        ("Checks.Status == passing", true), ("Checks.Status == critical", true), ("Checks.Status == warning", false),
        // Per element, as written: "some check is not passing".
        ("Checks.Status != passing", true), ("Checks.Status != warning", true),
        ("Checks.Output contains 503", true), ("Checks.Output matches `^Agent`", true),
        ("Checks.ServiceTags contains primary", true), ("Checks.ServiceTags is empty", true),
        ("Checks.0.Status == passing", true), ("Checks.1.Status == passing", false),
        ("Checks.1.Status == critical", true),
        ("not Checks.Status == critical", false),
    ])
    func projection_appliesToAnyElement(expression: String, expected: Bool) throws {
        #expect(try evaluate(expression, on: healthEntry) == expected, "\(expression)")
    }

    @Test func projection_overAllPassingAndEmptyLists() throws {
        let passing = #"{"Checks":[{"Status":"passing"},{"Status":"passing"}]}"#
        #expect(try evaluate("Checks.Status != passing", on: passing) == false)
        #expect(try evaluate("Checks.Status == passing", on: passing))
        let none = #"{"Checks":[]}"#
        #expect(try evaluate("Checks.Status == passing", on: none) == false)
        #expect(try evaluate("Checks.Status != passing", on: none) == false)
        // Nested lists project through each level.
        #expect(try evaluate("Groups.Tasks.Name == c", on: Self.datum))
        #expect(try evaluate("Groups.Tasks.Name == d", on: Self.datum) == false)
        // A field missing from the elements (structs) is still an error.
        #expect(throws: FilterExpression.Failure.self) { try evaluate("Checks.Nope == x", on: passing) }
    }

    // MARK: - JSON pointers

    @Test func jsonPointers_selectLikeDottedPaths() throws {
        #expect(try evaluate(#""/Node/Meta/rack" == r1"#, on: healthEntry))
        #expect(try evaluate(#""/Service/Tags" contains v1"#, on: healthEntry))
        #expect(try evaluate(#"v1 in "/Service/Tags""#, on: healthEntry))
        #expect(try evaluate(#""/Service/Tags/1" == primary"#, on: healthEntry))
        #expect(try evaluate(#""/Service/Port"==80"#, on: healthEntry))
        // ~1 is "/" and ~0 is "~" (RFC 6901).
        let escaped = #"{"a/b":{"c~d":"x"},"hy-phen":{"pi|pe":{"do.t":1}}}"#
        #expect(try evaluate(#""/a~1b/c~0d" == x"#, on: escaped))
        #expect(try evaluate(#""/hy-phen/pi|pe/do.t" == 1"#, on: escaped))
    }

    // MARK: - Consul-shaped answers

    @Test(arguments: [
        ("Service.Service == web", true), ("Service.Tags contains primary", true),
        ("Service.Port == 80 and Node.Meta.rack == r1", true), ("Node.Meta.rack != r1", false),
        ("Node.Meta.zone != z1", true), ("Node.Meta.zone == z1", false), ("Service.Meta.version is empty", true),
        ("Service.Tags contains v2 or Node.Node == n1", true),
        ("Service.Service == web and not (Checks.Status == critical)", false),
        ("Service.Service matches `^w.b$` and v1 in Service.Tags", true),
        ("all Checks as c { c.Status == passing }", false),
        ("any Checks as c { c.CheckID == serfHealth and c.Status == passing }", true),
        ("Node.TaggedAddresses.lan == `10.0.0.1`", true), ("Node.TaggedAddresses.wan is empty", true),
        ("Service.TaggedAddresses.lan_ipv4.Port == 80", true),
        ("Service.EnableTagOverride == false", true),
    ])
    func healthEntry_filters(expression: String, expected: Bool) throws {
        #expect(try evaluate(expression, on: healthEntry) == expected, "\(expression)")
    }

    @Test func healthEntry_structFieldsAreChecked() throws {
        let message = try #require(failure("Service.Nope == x", on: healthEntry))
        #expect(message.contains(#"struct field with name "Nope""#))
        // A tagged address's value is a struct, not a map.
        #expect(failure("Service.TaggedAddresses.lan_ipv4.Nope == x", on: healthEntry) != nil)
        // As in go-bexpr, only a missing *last* key of a map is "not present".
        #expect(failure("Service.TaggedAddresses.wan_ipv4.Port != 80", on: healthEntry)?.contains(#"couldn't find key "wan_ipv4""#) == true)
    }

    @Test func filter_keepsTheMatchingEntries() throws {
        let entries = try JSONValue.parse(#"""
        [{"Service":{"Service":"web","Tags":["a"]}},{"Service":{"Service":"db","Tags":[]}},
         {"Service":{"Service":"web","Tags":["b"]}}]
        """#)
        let filter = try FilterExpression.parse("Service.Service == web and Service.Tags is not empty")
        let kept = try (entries.arrayValue ?? []).filter { try filter.matches($0) }
        #expect(kept.count == 2)
        #expect(kept.last?["Service"]?["Tags"] == ["b"])
    }
}
