import JSON
import Testing

/// Deterministic RNG for fuzz tests (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

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
            let input = round % 4 == 0 ? Self.randomBytes(&rng) : Self.mutate(Self.seeds[round % Self.seeds.count], &rng)
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

    private static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        let count = Int.random(in: 0...64, using: &rng)
        let useAlphabet = Bool.random(using: &rng)
        return (0..<count).map { _ in
            useAlphabet ? alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] : UInt8.random(in: 0...255, using: &rng)
        }
    }

    private static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            let byte = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = byte
            case 1: bytes.insert(byte, at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes = Array(bytes.prefix(position))
            default:
                let repeated = [UInt8](repeating: byte, count: Int.random(in: 1...40, using: &rng))
                bytes.insert(contentsOf: repeated, at: position)
            }
        }
        return bytes
    }
}
