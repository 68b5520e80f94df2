import Crypto
import TestSupport
import Testing

@Suite("AES-GCM and base64")
struct AESGCMTests {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(s.utf8)[...]
        while chars.count >= 2 {
            out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
            chars = chars.dropFirst(2)
        }
        return out
    }

    @Test("the GCM specification's test case 3 (AES-128): the same ciphertext and tag, and it opens")
    func knownAnswer() throws {
        let key = try #require(AESGCM.Key(Self.hex("feffe9928665731c6d6a8f9467308308")))
        let nonce = Self.hex("cafebabefacedbaddecaf888")
        let plaintext = Self.hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
        let sealed = try #require(AESGCM.seal(plaintext, key: key, nonce: nonce))
        let expected = nonce + Self.hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985")
            + Self.hex("4d5c2af327cd64a62cf35abd2ba6fab4")
        #expect(sealed == expected)
        #expect(AESGCM.open(sealed[...], key: key) == plaintext)
    }

    @Test("round trips under 16-, 24- and 32-byte keys; other key sizes are refused")
    func roundTrips() throws {
        var rng = SplitMix64(seed: 7)
        for size in [16, 24, 32] {
            let key = try #require(AESGCM.Key((0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            for length in [0, 1, 15, 16, 17, 1400, 70_000] {
                let plaintext = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let sealed = try #require(AESGCM.seal(plaintext, key: key, aad: [2]))
                #expect(sealed.count == plaintext.count + AESGCM.overhead)
                #expect(AESGCM.open(sealed[...], key: key, aad: [2]) == plaintext)
            }
        }
        for size in [0, 8, 15, 17, 31, 33, 64] { #expect(AESGCM.Key([UInt8](repeating: 1, count: size)) == nil) }
    }

    @Test("two seals of one message differ (fresh nonces)")
    func freshNonces() throws {
        let key = try #require(AESGCM.Key([UInt8](repeating: 9, count: 32)))
        let a = try #require(AESGCM.seal(Array("alive n1".utf8), key: key))
        let b = try #require(AESGCM.seal(Array("alive n1".utf8), key: key))
        #expect(a.prefix(AESGCM.nonceSize) != b.prefix(AESGCM.nonceSize))
        #expect(a != b)
    }

    @Test("every changed byte, every truncation, a wrong key and wrong additional data fail to open, without a trap")
    func tamperingFails() throws {
        let key = try #require(AESGCM.Key([UInt8](repeating: 3, count: 16)))
        let other = try #require(AESGCM.Key([UInt8](repeating: 4, count: 16)))
        let sealed = try #require(AESGCM.seal(Array("service web at 10.0.0.1".utf8), key: key, aad: [2]))
        for i in sealed.indices {
            var changed = sealed
            changed[i] ^= 0x01
            #expect(AESGCM.open(changed[...], key: key, aad: [2]) == nil)
        }
        for n in 0..<sealed.count { #expect(AESGCM.open(sealed.prefix(n), key: key, aad: [2]) == nil) }
        #expect(AESGCM.open(sealed[...], key: other, aad: [2]) == nil)
        #expect(AESGCM.open(sealed[...], key: key, aad: [1]) == nil)
        #expect(AESGCM.open(sealed[...], key: key) == nil)
        #expect(AESGCM.open(sealed.dropFirst(0), key: key, aad: [2]) != nil)
    }

    @Test("random and mutated input never opens and never traps")
    func fuzzedOpen() throws {
        var rng = SplitMix64(seed: 11)
        let key = try #require(AESGCM.Key([UInt8](repeating: 5, count: 32)))
        let seed = try #require(AESGCM.seal(Array("a compound gossip packet".utf8), key: key))
        for round in 0..<20_000 {
            let input = round % 2 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: [0, 1, 2, 255], maxCount: 120)
                : Fuzzer.mutate(seed, &rng, alphabet: [0, 1, 2, 255], edits: 1...4, maxRun: 8)
            #expect(input == seed || AESGCM.open(input[...], key: key) == nil)
        }
    }

    @Test("base64: RFC 4648 vectors, and strict decoding")
    func base64() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        for bad in ["Zg", "Zg=", "Z===", "Zh==", "Zm9=Zm9v", "Zm9v\n", "Zm-v", "Zm_v", " Zm9v"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }
}
