import Filter
import JSON
import TestSupport
import Testing

/// Random and mutated filters and regular expressions must be accepted or
/// refused with a message, never trap or hang; accepted filters must
/// evaluate (or fail cleanly) against a Consul-shaped datum.
@Suite struct FilterFuzzTests {
    static let seeds: [[UInt8]] = [
        "Service.Service == web and Service.Tags contains primary",
        "not (Checks.Status != passing or Node.Meta.rack is empty)",
        #"any Checks as c { c.Status == "critical" and c.Output matches `^HTTP` }"#,
        #"all Node.Meta as k, v { k != "" or v not in Service.Tags }"#,
        #""/Service/Port" == 80 or v1 not in "/Service/Tags" or Service.Port != -1.5"#,
        "Service.Meta[\"version\"] is not nil and Checks.0.Status not matches \"^(pass|warn)\"",
        "x in foo and not str == something or list is empty",
    ].map { Array($0.utf8) }

    /// Bytes that matter to the grammar, so mutations hit interesting paths.
    static let alphabet: [UInt8] = Array(#"()[]{}"`\/.,_-+*?|^$!=~:01239 abcdeinorstvxyASCMN"#.utf8)
        + Array(" and or not in is empty nil contains matches any all as ".utf8)
        + [0x00, 0x09, 0x0A, 0x0D, 0x7F, 0x80, 0xC3, 0xA9, 0xF0, 0xFF]

    static let regexSeeds: [[UInt8]] = [
        "^(a|b)*c{2,5}[^x-z]\\d+$", "(?i)web-[0-9]{1,3}\\b", "(a*)*b", "[[:alpha:]_]\\w*(?:\\.\\w+)*",
        "\\p{L}+|\\x{263A}|[\\s\\S]?", "^(?m)foo$|(?s:.)+",
    ].map { Array($0.utf8) }

    static let regexAlphabet: [UInt8] = Array(#"()[]{}\^$.|*+?,:-=!<>P0123456789aAbBdDsSwWpxzikmsU"#.utf8) + [0x80, 0xC3, 0xA9]

    static let texts = ["", "a", "aaab", "web-12 ", "ABC\nabc", "é☺😀", String(repeating: "ab", count: 200)]

    @Test func filters_20000RandomAndMutatedInputs_neverCrash() throws {
        let datum = try JSONValue.parse(healthEntry)
        var rng = SplitMix64(seed: 0xF1_17E8)
        var accepted = 0
        var rejected = 0
        var evaluated = 0
        for round in 0..<20_000 {
            let bytes = round % 4 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.alphabet, maxCount: 80)
                : Fuzzer.mutate(Self.seeds[round % Self.seeds.count], &rng, alphabet: Self.alphabet, edits: 1...4, maxRun: 40)
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let filter = try FilterExpression.parse(text)
                accepted += 1
                if (try? filter.matches(datum)) != nil { evaluated += 1 }
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
                #expect(error.description.first?.isNumber == true, "no position in \(error.description)")
            }
        }
        #expect(accepted > 100)
        #expect(rejected > 100)
        #expect(evaluated > 100)
    }

    @Test func regexes_randomAndMutated_neverCrash() {
        var rng = SplitMix64(seed: 0x8E_6E7)
        var accepted = 0
        var rejected = 0
        for round in 0..<20_000 {
            let bytes = round % 3 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.regexAlphabet, maxCount: 40)
                : Fuzzer.mutate(Self.regexSeeds[round % Self.regexSeeds.count], &rng, alphabet: Self.regexAlphabet, edits: 1...3, maxRun: 12)
            do {
                let regex = try LinearRegex(String(decoding: bytes, as: UTF8.self))
                accepted += 1
                for text in Self.texts { _ = regex.matches(text) }
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(accepted > 100)
        #expect(rejected > 100)
    }

    @Test func deepNesting_isRefusedCleanly() {
        for opener in ["(", "not ", "any a as b { ", "((", "[", "\""] {
            let text = String(repeating: opener, count: 100_000)
            #expect(throws: FilterExpression.Failure.self) { try FilterExpression.parse(text) }
        }
        let regex = String(repeating: "(", count: 100_000)
        #expect(throws: LinearRegex.Failure.self) { try LinearRegex(regex) }
        // Within the length limit, nesting hits the depth limit instead.
        let withinLength = String(repeating: "(", count: 4000)
        #expect(parseFailure(withinLength)?.contains("nested too deeply") == true)
        let regexWithinLength = "Name matches `" + String(repeating: "(", count: 4000) + "`"
        #expect(parseFailure(regexWithinLength) != nil)
    }
}
