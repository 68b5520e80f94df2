import Filter
import Testing

@Suite struct FilterParseTests {
    @Test func emptyExpression_isRefused() {
        #expect(throws: FilterExpression.Failure.self) { try FilterExpression.parse("") }
        #expect(parseFailure(" \t\n ")?.contains("empty") == true)
    }

    @Test func parse_keepsTheSource() throws {
        #expect(try FilterExpression.parse("a == b").source == "a == b")
    }

    // MARK: - Precedence

    @Test(arguments: [
        // `and` binds tighter than `or`: a or (b and c).
        ("a == 1 or b == 1 and c == 1", #"{"a":1,"b":0,"c":0}"#, true),
        ("b == 1 and c == 1 or a == 1", #"{"a":1,"b":0,"c":0}"#, true),
        ("(a == 1 or b == 1) and c == 1", #"{"a":1,"b":0,"c":0}"#, false),
        // `not` binds tighter than `and`: (not a) and b.
        ("not a == 1 and b == 1", #"{"a":0,"b":0}"#, false),
        ("not (a == 1 and b == 1)", #"{"a":0,"b":0}"#, true),
        // ... and tighter than `or`: (not a) or b.
        ("not a == 0 or b == 0", #"{"a":0,"b":0}"#, true),
        ("not (a == 0 or b == 0)", #"{"a":0,"b":0}"#, false),
        ("not not a == 0", #"{"a":0}"#, true),
        ("not not not a == 0", #"{"a":0}"#, false),
        // go-bexpr's own precedence case.
        ("x in foo and not str == something or list is empty", #"{"foo":["x"],"str":"something","list":[]}"#, true),
        ("x in foo and not (str == something or list is empty)", #"{"foo":["x"],"str":"something","list":[]}"#, false),
        ("(((a == 1)))", #"{"a":1}"#, true),
    ])
    func precedence(expression: String, datum: String, expected: Bool) throws {
        #expect(try evaluate(expression, on: datum) == expected)
    }

    @Test func keywords_areCaseSensitive() {
        #expect(parseFailure("a == 1 AND b == 1") != nil)
        #expect(parseFailure("a == 1 Or b == 1") != nil)
        #expect(parseFailure("NOT a == 1") != nil)
        #expect(parseFailure("a IS EMPTY") != nil)
        #expect(parseFailure("a Contains b") != nil)
    }

    @Test func whitespace_isIgnoredAroundTokens_butRequiredAroundWords() throws {
        #expect(try evaluate("\t\r\n  foo \t\r\n == \t\r\n x \t\r\n", on: #"{"foo":"x"}"#))
        #expect(try evaluate("\t\r\n ( \t\r\n foo \t\r\n is \t\r\n not \t\r\n empty \t\r\n ) ", on: #"{"foo":"x"}"#))
        #expect(try evaluate("foo==x", on: #"{"foo":"x"}"#))
        // As in go-bexpr's grammar, `and`/`or` need blanks on both sides and `not` after it.
        #expect(parseFailure("(foo == x)and(foo == x)") != nil)
        #expect(parseFailure("not(foo == x)") != nil)
        #expect(parseFailure("foo contains\"x\"") != nil)
    }

    @Test func reservedWords_canStillBeFieldNames() throws {
        #expect(try evaluate("not == 1", on: #"{"not":1}"#))
        #expect(try evaluate("not not == 1", on: #"{"not":1}"#) == false)
        #expect(try evaluate("any == 3", on: #"{"any":3}"#))
        #expect(try evaluate("all in Tags", on: #"{"Tags":["all"]}"#))
        #expect(try evaluate("a == and and b == or", on: #"{"a":"and","b":"or"}"#))
        #expect(try evaluate("notfoo == 1", on: #"{"notfoo":1}"#))
    }

    // MARK: - Selectors and values

    @Test func selectors_dotsIndexesAndSlashes() throws {
        let datum = #"{"foo":{"bar":{"meta":{"tags":{"ENV":["environment"]}}}},"foo/bar":3,"list":["a","b"]}"#
        #expect(try evaluate("`environment` in foo.bar[\"meta\"].tags[\t`ENV` ]", on: datum))
        #expect(try evaluate(#"environment in foo["bar"]["meta"]["tags"]["ENV"]"#, on: datum))
        #expect(try evaluate("environment in foo.bar.meta.tags.ENV", on: datum))
        #expect(try evaluate("foo/bar == 3", on: datum))
        #expect(try evaluate("list.1 == b", on: datum))
        #expect(try evaluate(#"foo["bar"].meta.tags.ENV is not empty"#, on: datum))
    }

    @Test func values_wordsNumbersAndStrings() throws {
        #expect(try evaluate("x == 0.2", on: #"{"x":0.2}"#))
        #expect(try evaluate("x == -0.2", on: #"{"x":-0.2}"#))
        #expect(try evaluate("x == 11.11", on: #"{"x":11.11}"#))
        #expect(try evaluate("x == -7", on: #"{"x":"-7"}"#))
        // A bare word value is a selector's text, joined with dots (go-bexpr).
        #expect(try evaluate("x == bar.baz", on: #"{"x":"bar.baz"}"#))
        #expect(try evaluate(#"x == bar["baz"]"#, on: #"{"x":"bar.baz"}"#))
        #expect(try evaluate(#"x == "a\tb\u00e9\x41\101""#, on: #"{"x":"a\tbéAA"}"#))
        #expect(try evaluate(#"x == "say \"hi\"""#, on: #"{"x":"say \"hi\""}"#))
        #expect(try evaluate(#"x == `C:\dir\n`"#, on: #"{"x":"C:\\dir\\n"}"#))
        #expect(try evaluate("x == ``", on: #"{"x":""}"#))
        #expect(try evaluate("x == \"\"", on: #"{"x":""}"#))
        // Unlike go-bexpr (which would compare with "v1/health"), a quoted
        // value is its text even when it looks like a JSON pointer.
        #expect(try evaluate(#"x == "/v1/health""#, on: #"{"x":"/v1/health"}"#))
    }

    @Test func collections_bindingForms() {
        #expect(parseFailure("all Map as k, k { TopInt == 5 }")?.contains("placeholder for both") == true)
        #expect(parseFailure("all group.tasks as { t.name == hello }") != nil)
        #expect(parseFailure("all as t { t.name == hello }") != nil)
        #expect(parseFailure("all x as _ { y == 1 }") != nil)
        #expect(parseFailure("any x as t { t == 1 ") != nil)
        #expect(parseFailure("any x as t t == 1 }") != nil)
        #expect(parseFailure("all group.tasks as t { all t.test as i { i == \"test\" }}") == nil)
        #expect(parseFailure("any x as k, _ { k == a }") == nil)
        #expect(parseFailure("any x as _, v { v == a }") == nil)
    }

    // MARK: - Errors

    @Test(arguments: [
        ("foo == \"12x", "unterminated string"),
        ("foo == `12x", "unterminated string"),
        ("foo == 3x", "invalid number"),
        ("foo == 01", "invalid number"),
        ("foo == 1.", "invalid number"),
        ("foo[3] == abc", "invalid index"),
        ("x in foo[\"abc\"", "unclosed index"),
        ("foo[\"abc\" == 3", "unclosed index"),
        ("x in 32", "invalid selector"),
        (#"x in "foo""#, "invalid selector"),
        ("32 == 32", "invalid selector"),
        ("`foo` == 32", "invalid selector"),
        (#""foo" == 32"#, "invalid selector"),
        ("x in foo abc", "expected \"and\", \"or\""),
        ("x in foo and ", "end of input"),
        ("x in foo or not ", "end of input"),
        ("(foo == 4", "unmatched parentheses"),
        ("foo == 4)", "unexpected \")\""),
        ("foo", "expected an operator"),
        ("foo is ", "after \"is\""),
        ("foo is full", "after \"is\""),
        ("foo not equals x", "after \"not\""),
        ("foo == ", "expected a value"),
        ("foo == )", "expected a value"),
        ("== 3", "expected a selector"),
        (#"x == "\q""#, "invalid escape"),
        (#"x == "\'""#, "invalid escape"),
        (#"x == "\ud800""#, "invalid Unicode escape"),
        (#"x == "\777""#, "invalid octal"),
        ("x == \"a\nb\"", "newline"),
        (#"Name matches "(""#, "invalid regular expression"),
        (#"Name matches "a**""#, "nested repetition"),
        ("\"/a/\" == 3", "invalid selector"),
    ])
    func errors_sayWhatIsWrong(expression: String, fragment: String) throws {
        let message = try #require(parseFailure(expression), "\(expression) parsed")
        #expect(message.lowercased().contains(fragment.lowercased()), "\(expression): \(message)")
    }

    @Test func errors_givePositionsLikeGoBexpr() {
        #expect(parseFailure("x in foo abc")?.hasPrefix("1:10 (9): ") == true)
        #expect(parseFailure("foo == 3x")?.hasPrefix("1:9 (8): ") == true)
        #expect(parseFailure("a == 1 and\n  é == 2 )")?.hasPrefix("2:3 (13): ") == true)
    }

    // MARK: - Limits

    @Test func length_isBounded() {
        let long = "a == \"" + String(repeating: "x", count: 5000) + "\""
        #expect(parseFailure(long)?.contains("too long") == true)
        let justFits = "a == \"" + String(repeating: "x", count: 4096 - 7) + "\""
        #expect(parseFailure(justFits) == nil)
    }

    @Test func nesting_isBoundedAndRefusedCleanly() {
        #expect(parseFailure(String(repeating: "(", count: 100_000))?.contains("too long") == true)
        let deep = String(repeating: "(", count: 2000) + "a == 1" + String(repeating: ")", count: 2000)
        #expect(parseFailure(deep)?.contains("nested too deeply") == true)
        let nots = String(repeating: "not ", count: 1000) + "a == 1"
        #expect(parseFailure(nots)?.contains("nested too deeply") == true)
        let anys = String(repeating: "any a as b { ", count: 100) + "b == 1" + String(repeating: " }", count: 100)
        #expect(parseFailure(anys)?.contains("nested too deeply") == true)
        let fits = String(repeating: "(", count: 31) + "a == 1" + String(repeating: ")", count: 31)
        #expect(parseFailure(fits) == nil)
        let tooMany = String(repeating: "(", count: 33) + "a == 1" + String(repeating: ")", count: 33)
        #expect(parseFailure(tooMany) != nil)
    }

    @Test func longChains_areNotDeep() throws {
        let chain = (0..<300).map { "a == \($0)" }.joined(separator: " or ")
        #expect(try evaluate(chain, on: #"{"a":299}"#))
        #expect(try evaluate(chain, on: #"{"a":300}"#) == false)
    }
}
