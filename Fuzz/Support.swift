// Compiled into every fuzz target beside its own file (scripts/fuzz.sh).
// A target defines `fuzz(_:)` (one input) and `fuzzSeeds()` (valid inputs,
// made with the real encoders, that become Fuzz/corpus/<Name>/).
import Glibc

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzz(bytes)
    return 0
}

/// `FUZZ_WRITE_SEEDS=DIR target`: writes `fuzzSeeds()` as DIR/seed-NN and
/// exits instead of fuzzing (scripts/fuzz.sh -write-seeds), so the corpus
/// follows the encoders rather than hand-made bytes.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                           _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    guard let directory = getenv("FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return 0 }
    for (index, seed) in fuzzSeeds().enumerated() {
        let path = directory + "/seed-" + (index < 10 ? "0" : "") + String(index)
        guard let file = fopen(path, "wb"), fwrite(seed, 1, seed.count, file) == seed.count, fclose(file) == 0 else {
            let text = Array("cannot write \(path)\n".utf8)
            _ = write(2, text, text.count)
            exit(1)
        }
    }
    exit(0)
}

/// A broken property: traps, so libFuzzer keeps the input as a crash.
func fuzzFail(_ message: @autoclosure () -> String) -> Never {
    fatalError("fuzz property failed: \(message())")
}

func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fuzzFail(message()) }
}

/// `bytes` in pieces of a size picked from its length, as a stream
/// arrives: a parser must answer the same whatever the split.
func fuzzPieces(_ bytes: [UInt8]) -> [[UInt8]] {
    let size = bytes.count % 13 + 1
    return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}

extension String {
    var fuzzBytes: [UInt8] { Array(utf8) }
}

/// The encoder and the decoder agree: what decodes encodes to bytes that
/// decode again, and encoding settles within three trips, not always the
/// first: invalid UTF-8 decodes to U+FFFD (3 bytes), and a name cut at its
/// byte limit (255) can end mid-character, which decodes to U+FFFD again.
func fuzzRoundTrip<T>(_ value: T, _ what: String, encode: (T) -> [UInt8], decode: ([UInt8]) throws -> T) {
    var encoded = encode(value)
    var previous: [UInt8] = []
    for trip in 1...3 {
        let again: T
        do {
            again = try decode(encoded)
        } catch {
            fuzzFail("\(what): re-encoded value does not decode (\(error)), trip \(trip): \(encoded)")
        }
        previous = encoded
        encoded = encode(again)
        if encoded == previous { return }
    }
    fuzzFail("\(what): encoding does not settle: \(previous) then \(encoded)")
}
