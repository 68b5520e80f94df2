import Crypto
@testable import Membership
@testable import MembershipCore
import Sockets
import TestSupport
import Testing

@Suite("Keyring, sealing and stream messages")
struct KeyringTests {
    static func key(_ byte: UInt8, _ size: Int = 32) -> AESGCM.Key { AESGCM.Key([UInt8](repeating: byte, count: size))! }
    static let k1 = key(1), k2 = key(2, 16), k3 = key(3, 24)

    @Test("install, use and remove follow memberlist's rules and texts; a change never lowers the version")
    func operations() throws {
        let ring = try #require(Keyring(keys: [Self.k1], version: 10))
        let installed = try ring.applying(.install(Self.k2), version: 20).get()
        #expect(installed.keys == [Self.k1, Self.k2] && installed.version == 20)
        #expect(try installed.applying(.install(Self.k2), version: 5).get().keys == [Self.k1, Self.k2])
        #expect(try installed.applying(.install(Self.k2), version: 5).get().version == 20)
        let used = try installed.applying(.use(Self.k2), version: 30).get()
        #expect(used.primary == Self.k2 && used.keys == [Self.k2, Self.k1])
        #expect(throws: KeyringError("Requested key is not in the keyring")) { try used.applying(.use(Self.k3), version: 40).get() }
        #expect(throws: KeyringError("Removing the primary key is not allowed")) { try used.applying(.remove(Self.k2), version: 40).get() }
        let removed = try used.applying(.remove(Self.k1), version: 40).get()
        #expect(removed.keys == [Self.k2])
        #expect(try removed.applying(.remove(Self.k3), version: 50).get().keys == [Self.k2])
        var full = try #require(Keyring(keys: [Self.k1]))
        for i in 0..<(Keyring.capacity - 1) { full = try full.applying(.install(Self.key(UInt8(10 + i))), version: 1).get() }
        #expect(throws: KeyringError.self) { try full.applying(.install(Self.key(99)), version: 2).get() }
        #expect(Keyring(keys: []) == nil)
    }

    @Test("replication: the higher version wins; equal versions settle on one ring whichever side compares")
    func supersession() throws {
        let a = try #require(Keyring(keys: [Self.k1], version: 5))
        let b = try #require(Keyring(keys: [Self.k2, Self.k1], version: 6))
        #expect(a.isSuperseded(by: b) && !b.isSuperseded(by: a))
        let c = try #require(Keyring(keys: [Self.k3], version: 6))
        #expect(b.isSuperseded(by: c) != c.isSuperseded(by: b))
        #expect(!b.isSuperseded(by: b))
    }

    @Test("keys parse from Consul's base64 form and refuse other sizes with a clear text")
    func parsing() throws {
        #expect(try Keyring.parseKey("pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=").get().bytes.count == 32)
        #expect(try Keyring.parseKey("tbLJg26ZJyJ9pK3qhc9jig==").get().bytes.count == 16)
        #expect(throws: KeyringError.self) { try Keyring.parseKey("abc").get() }
        #expect(throws: KeyringError("key must be 16, 24 or 32 bytes, not 3 (fedagent keygen makes one)")) { try Keyring.parseKey("AAAA").get() }
    }

    @Test("what a pool accepts, for each combination of keyring and verify settings")
    func openRules() throws {
        let ring = try #require(Keyring(keys: [Self.k1, Self.k2]))
        let plaintext: [UInt8] = [SWIM.wireVersion, 1, 2, 3]
        let sealedK2 = try #require(GossipSeal.seal(plaintext, key: Self.k2))
        let sealedK3 = try #require(GossipSeal.seal(plaintext, key: Self.k3))
        let strict = GossipEncryption(keyring: ring)
        let lenient = GossipEncryption(keyring: ring, verifyIncoming: false)
        #expect(GossipSeal.open(plaintext, .off) == .plaintext(plaintext))
        #expect(GossipSeal.open(sealedK2, .off) == .refused(.noKeyring))
        #expect(GossipSeal.open(plaintext, strict) == .refused(.plaintextRefused))
        #expect(GossipSeal.open(plaintext, lenient) == .plaintext(plaintext))
        #expect(GossipSeal.open(sealedK2, strict) == .sealed(plaintext, key: Self.k2))
        #expect(GossipSeal.open(sealedK3, strict) == .refused(.noKeyOpens))
        #expect(GossipSeal.open(sealedK3, lenient) == .refused(.noKeyOpens))
        #expect(GossipSeal.open([], strict) == .refused(.unknownVersion(0)))
        #expect(GossipSeal.open([9, 9], strict) == .refused(.unknownVersion(9)))
        // Only the primary seals, and only with verify_outgoing.
        #expect(strict.sealingKey == Self.k1)
        #expect(GossipEncryption(keyring: ring, verifyOutgoing: false).sealingKey == nil)
        // A packet from a removed key (an older generation) no longer opens.
        let rotated = try ring.applying(.use(Self.k2), version: 1).get().applying(.remove(Self.k1), version: 2).get()
        let old = try #require(GossipSeal.seal(plaintext, key: Self.k1))
        #expect(GossipSeal.open(old, strict) == .sealed(plaintext, key: Self.k1))
        #expect(GossipSeal.open(old, GossipEncryption(keyring: rotated)) == .refused(.noKeyOpens))
    }

    @Test("random and mutated datagrams never open as sealed, never trap; only the untouched one opens")
    func sealFuzz() throws {
        var rng = SplitMix64(seed: 5)
        let encryption = GossipEncryption(keyring: Keyring(keys: [Self.k1, Self.k2]))
        let seed = try #require(GossipSeal.seal([SWIM.wireVersion, 5, 0, 0, 0, 1], key: Self.k2))
        for round in 0..<20_000 {
            let input = round % 2 == 0
                ? [GossipSeal.sealedVersion] + Fuzzer.randomBytes(&rng, alphabet: [0, 1, 2, 3, 255], maxCount: 80)
                : Fuzzer.mutate(seed, &rng, alphabet: [0, 1, 2, 3, 255], edits: 1...3, maxRun: 5)
            if case .sealed = GossipSeal.open(input, encryption) { #expect(input == seed) }
        }
        #expect(GossipSeal.open(seed, encryption) == .sealed([SWIM.wireVersion, 5, 0, 0, 0, 1], key: Self.k2))
    }

    @Test("a sealed datagram of the instance's size still fits the MTU budget")
    func overhead() throws {
        let sealed = try #require(GossipSeal.seal([UInt8](repeating: 0, count: 1371), key: Self.k1))
        #expect(sealed.count == 1371 + GossipSeal.overhead && sealed.count <= 1400)
    }

    static let messages: [StreamMessage] = [
        .pushPull(ring: Keyring(keys: [k1, k2], version: 77)!, payload: [1, 10, 0, 0, 0, 0, 0]),
        .keyringRequest(.init(operation: nil, version: 3)),
        .keyringRequest(.init(operation: .install(k3), version: 4)),
        .keyringRequest(.init(operation: .use(k2), version: 5)),
        .keyringRequest(.init(operation: .remove(k1), version: 6)),
        .keyringAnswer(ring: Keyring(keys: [k3], version: 9)!, error: ""),
        .keyringAnswer(ring: Keyring(keys: [k3], version: 9)!, error: "Removing the primary key is not allowed"),
    ]

    @Test("stream messages round trip")
    func streamRoundTrips() throws {
        for message in Self.messages { #expect(try StreamMessage.decode(message.encode()) == message) }
    }

    @Test("random and mutated stream messages decode or fail, never trap")
    func streamFuzz() {
        var rng = SplitMix64(seed: 21)
        var decoded = 0
        for round in 0..<30_000 {
            let seed = Self.messages[round % Self.messages.count].encode()
            let input = round % 3 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: [0, 1, 2, 3, 16, 24, 32, 255], maxCount: 90)
                : Fuzzer.mutate(seed, &rng, alphabet: [0, 1, 2, 3, 16, 24, 32, 255], edits: 1...3, maxRun: 6)
            if (try? StreamMessage.decode(input)) != nil { decoded += 1 }
        }
        // Some mutations stay valid (a changed key byte); most do not.
        #expect(decoded > 0 && decoded < 30_000)
    }
}
