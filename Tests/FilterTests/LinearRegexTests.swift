import Filter
import Testing

@Suite struct LinearRegexTests {
    func matches(_ pattern: String, _ text: String) throws -> Bool {
        try LinearRegex(pattern).matches(text)
    }

    func compileError(_ pattern: String) -> String? {
        do {
            _ = try LinearRegex(pattern)
            return nil
        } catch {
            return error.description
        }
    }

    @Test(arguments: [
        // Literals, search anywhere, anchors.
        ("abc", "xxabcxx", true), ("abc", "ab", false), ("", "anything", true), ("", "", true),
        ("^abc", "abcd", true), ("^abc", "xabc", false), ("abc$", "xabc", true), ("abc$", "abcx", false),
        ("^$", "", true), ("^$", "x", false), ("a$", "a\n", false),
        // Dot: any scalar but a newline unless (?s).
        ("^a.c$", "abc", true), ("^a.c$", "a\nc", false), ("(?s)^a.c$", "a\nc", true), ("^.$", "é", true),
        ("^.$", "😀", true), ("^..$", "e\u{301}", true),
        // Classes.
        ("^[a-c]+$", "abcabc", true), ("^[a-c]+$", "abcd", false), ("^[^a-c]+$", "xyz", true), ("^[^a-c]+$", "xaz", false),
        ("[]a]", "]", true), ("^[-a]+$", "-a-", true), ("^[a-]+$", "-a", true), ("^[\\d-z]+$", "1-z", true),
        ("^[[:alpha:]]+$", "abcXYZ", true), ("^[[:^alpha:]]+$", "123", true), ("^[[:digit:][:upper:]]+$", "A1B2", true),
        ("^[\\]\\\\]+$", "]\\", true), ("^[\\x41-\\x43]+$", "ABC", true), ("^[^\\n]+$", "ab", true),
        // Perl classes, escapes.
        ("^\\d+$", "0123456789", true), ("^\\d+$", "12a", false), ("^\\D+$", "abc", true), ("^\\w+$", "a_Z9", true),
        ("^\\W+$", "-+ ", true), ("^\\s+$", " \t\n\r\u{0C}", true), ("^\\S+$", "a b", false),
        ("^a\\.b$", "a.b", true), ("^a\\.b$", "axb", false), ("^\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$$", "*+?()[]{}|^$", true),
        ("^\\x41\\x{263A}\\101\\t$", "A☺A\t", true), ("^\\d+$", "٣", false),
        // Unicode categories.
        ("^\\pL+$", "héllo", true), ("^\\p{Lu}+$", "ÉA", true), ("^\\p{Lu}+$", "Éa", false), ("^\\PL+$", "123", true),
        ("^\\p{^L}+$", "12", true), ("^[\\p{N}x]+$", "1x٣", true), ("^\\p{Any}+$", "a1 é", true),
        // Groups, alternation.
        ("^(ab)+$", "ababab", true), ("^(ab)+$", "aba", false), ("^(?:a|bc)+$", "abca", true), ("^(a|b|)$", "", true),
        ("(foz|foo)@example.com", "foo@example.com", true), ("^(?P<word>\\w+)$", "abc", true), ("^(?<w>a)$", "a", true),
        ("^(a|ab)(c|bcd)$", "abcd", true), ("^()$", "", true),
        // Quantifiers.
        ("^a*$", "", true), ("^a+$", "", false), ("^ab?c$", "ac", true), ("^ab?c$", "abbc", false),
        ("^a{3}$", "aaa", true), ("^a{3}$", "aa", false), ("^a{2,}$", "aaaaa", true), ("^a{2,}$", "a", false),
        ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false), ("^a{0}$", "", true), ("^(ab){2}$", "abab", true),
        ("^a+?b*?c??$", "aab", true), ("^a{", "a{", true), ("^a{,3}$", "a{,3}", true), ("^a{x}$", "a{x}", true),
        ("^x{1000}$", String(repeating: "x", count: 1000), true), ("^x{1000}$", String(repeating: "x", count: 999), false),
        // Flags.
        ("(?i)^abc$", "AbC", true), ("^(?i:a)b$", "Ab", true), ("^(?i:a)b$", "AB", false), ("(?i)^[a-c]+$", "ABC", true),
        ("(?i)^[^a]$", "A", false), ("(?i)k", "\u{212A}", true), ("(?i)^straße$", "STRAßE", true), ("(?i-i)a", "A", false),
        ("^a(?i)b|c$", "C", true), ("(?m)^b$", "a\nb\nc", true), ("^b$", "a\nb\nc", false), ("(?m)a$", "a\nb", true),
        ("(?U)a+", "aaa", true), ("(?ims)^A.B$", "x\na\nb", true),
        // Word boundaries and text anchors.
        ("\\bfoo\\b", "a foo b", true), ("\\bfoo\\b", "afoob", false), ("\\Bfoo", "afoo", true), ("\\Afoo\\z", "foo", true),
        ("\\Afoo\\z", "foo\n", false),
        // Assertions may be repeated, as RE2 allows.
        ("^*a", "a", true),
    ])
    func features(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "\(pattern) on \(text.debugDescription)")
    }

    @Test func pathologicalPatterns_finishOnLongInput() throws {
        let run = String(repeating: "a", count: 10_000)
        #expect(try matches("(a*)*b", run) == false)
        #expect(try matches("(a|a)*b", run) == false)
        #expect(try matches("(a+)+$", run))
        #expect(try matches("^(a?){30}a{30}$", String(repeating: "a", count: 30)))
        #expect(try matches("(x+x+)+y", String(repeating: "x", count: 5_000)) == false)
        #expect(try matches("(.*)*(.*)*z", run) == false)
    }

    @Test(arguments: [
        ("(", "missing closing )"), ("(a", "missing closing )"), (")", "unexpected )"), ("a)", "unexpected )"),
        ("[a", "missing closing ]"), ("[", "missing closing ]"), ("[]", "missing closing ]"), ("[z-a]", "invalid character class range"),
        ("[a-\\d]", "invalid character class range"), ("[[:nope:]]", "invalid character class range"),
        ("a**", "invalid nested repetition operator"), ("a+*", "invalid nested repetition operator"),
        ("a*??", "invalid nested repetition operator"), ("a{2}{3}", "invalid nested repetition operator"),
        ("a*+", "invalid nested repetition operator"),
        ("*a", "missing argument to repetition operator"), ("a|*", "missing argument to repetition operator"),
        ("(*)", "missing argument to repetition operator"), ("{2}", "missing argument to repetition operator"),
        ("(?i)*", "missing argument to repetition operator"),
        ("a{1001}", "invalid repeat count"), ("a{3,2}", "invalid repeat count"), ("a{0,99999999999999999999}", "invalid repeat count"),
        ("(a)\\1", "backreferences are not supported"), ("\\9", "backreferences are not supported"),
        ("(?P=name)", "backreferences are not supported"),
        ("(?=a)", "lookahead is not supported"), ("(?!a)", "lookahead is not supported"),
        ("(?<=a)", "lookbehind is not supported"), ("(?<!a)", "lookbehind is not supported"),
        ("(?>a)", "invalid or unsupported Perl syntax"), ("(?)", "missing flags"), ("(?x)", "invalid or unsupported Perl syntax"),
        ("(?P<>a)", "invalid named capture"), ("(?P<a-b>a)", "invalid named capture"),
        ("\\q", "invalid escape sequence"), ("\\", "trailing backslash"), ("\\Z", "invalid escape sequence"),
        ("\\é", "invalid escape sequence"), ("[\\b]", "invalid escape sequence"), ("\\x4", "invalid escape sequence"),
        ("\\x{110000}", "invalid escape sequence"), ("\\x{}", "invalid escape sequence"),
        ("\\p{Greek}", "unsupported Unicode class"), ("\\p{L", "invalid character class range"),
    ])
    func unsupportedOrBadSyntax_isRefused(pattern: String, fragment: String) throws {
        let message = try #require(compileError(pattern), "\(pattern) compiled")
        #expect(message.contains(fragment), "\(pattern): \(message)")
    }

    @Test func size_isBounded() throws {
        #expect(compileError("(a{1000}){1000}")?.contains("too large") == true)
        #expect(compileError("(((?:){1000}){1000}){1000}")?.contains("too large") == true)
        #expect(compileError("[a-z]{1000}") == nil)
        #expect(compileError(String(repeating: "a", count: 5000))?.contains("too long") == true)
        #expect(compileError(String(repeating: "(", count: 100_000))?.contains("too long") == true)
        let deep = String(repeating: "(", count: 2000) + String(repeating: ")", count: 2000)
        #expect(compileError(deep)?.contains("nests too deeply") == true)
        let fits = String(repeating: "(", count: 60) + "a" + String(repeating: ")", count: 60)
        #expect(try LinearRegex(fits).matches("xax"))
    }

    @Test func filterMatches_usesTheRegex() throws {
        #expect(try evaluate("Name matches `^web-[0-9]+$`", on: #"{"Name":"web-12"}"#))
        #expect(try evaluate("Name not matches `^web-[0-9]+$`", on: #"{"Name":"web-x"}"#))
        #expect(try evaluate(#"Name matches "^web\\d$""#, on: #"{"Name":"web1"}"#))
        #expect(try evaluate("Name matches web", on: #"{"Name":"my-web-1"}"#))
        #expect(parseFailure("Name matches `(?=x)`")?.contains("lookahead") == true)
    }
}
