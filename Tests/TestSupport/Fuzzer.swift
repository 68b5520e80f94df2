import Sockets

/// Shared by the fuzz tests: a seeded generator (so a failing input can be
/// reproduced) and byte-string mutators biased towards a grammar's alphabet.
public typealias SplitMix64 = SeededRandom

public enum Fuzzer {
    /// Up to `maxCount` bytes, either all from `alphabet` or all arbitrary.
    public static func randomBytes(_ rng: inout SplitMix64, alphabet: [UInt8], maxCount: Int) -> [UInt8] {
        let count = Int.random(in: 0...maxCount, using: &rng)
        let useAlphabet = Bool.random(using: &rng)
        return (0..<count).map { _ in
            useAlphabet ? alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] : UInt8.random(in: 0...255, using: &rng)
        }
    }

    /// A few edits of `seed`: replace, insert, delete, truncate, a run of
    /// one byte, and (with `appendSeed`, for pipelined protocols) the seed again.
    public static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64, alphabet: [UInt8], edits: ClosedRange<Int>,
                              maxRun: Int, appendSeed: Bool = false) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: edits, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            let byte = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
            switch Int.random(in: 0..<(appendSeed ? 6 : 5), using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = byte
            case 1: bytes.insert(byte, at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes = Array(bytes.prefix(position))
            case 4 where appendSeed: bytes += seed
            default: bytes.insert(contentsOf: [UInt8](repeating: byte, count: Int.random(in: 1...maxRun, using: &rng)), at: position)
            }
        }
        return bytes
    }
}
