import JSON
import TestSupport
import Testing


@Suite struct JSONFuzzTests {
    static let seeds: [[UInt8]] = [
        #"{"ID":"web","Tags":["a","b"],"Port":80,"Meta":{"k":"v"},"Check":{"TTL":"10s"}}"#,
        #"[1,-2.5e-3,true,false,null,"\ud83d\ude00\n",{"":[]}]"#,
        #"{"a":{"b":{"c":[[[[1]]]]}}}"#,
        "\"plain\"", "0", "-1.0E+2",
    ].map { Array($0.utf8) }

    /// Bytes that matter to the grammar, so mutations hit interesting paths.
    static let alphabet: [UInt8] = Array(#"{}[]",:\/u0123456789abcdefABCDEF.eE+-tnrfl "#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xED, 0xF0, 0xFF]

    @Test func parse_20000RandomAndMutatedInputs_neverCrashes() {
        var rng = SplitMix64(seed: 0xFEDA_6E47)
        var accepted = 0
        var rejected = 0
        for round in 0..<20_000 {
            let input = round % 4 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.alphabet, maxCount: 64)
                : Fuzzer.mutate(Self.seeds[round % Self.seeds.count], &rng, alphabet: Self.alphabet, edits: 1...4, maxRun: 40)
            do {
                let value = try JSONValue.parse(input, maxDepth: 16)
                accepted += 1
                // Anything accepted must survive a round trip unchanged.
                let again = try JSONValue.parse(value.serialized(), maxDepth: 16)
                #expect(again == value, "round trip changed \(input)")
            } catch {
                rejected += 1
                #expect(error.offset >= 0 && error.offset <= input.count)
            }
        }
        #expect(accepted > 100)
        #expect(rejected > 100)
    }


}
