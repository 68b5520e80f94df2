// Encrypted gossip (GossipSeal: `2 ‖ nonce ‖ ciphertext ‖ tag` under the
// keyring's keys; refusal frames; plaintext refused when encryption is
// required) and what is opened inside: a SWIM packet or a StreamMessage.
// Random bytes never authenticate, so one input in two is taken as a
// plaintext and sealed with a fixed key first: that reaches the decoders
// behind the seal, and every sealed input checks that the seal opens with
// the key that made it, and that a flipped bit makes it unopenable.
import Crypto
@testable import Membership
@testable import MembershipCore

let keys = [AESGCM.Key([UInt8](repeating: 0x11, count: 32))!, AESGCM.Key([UInt8](repeating: 0x22, count: 16))!]
let strict = GossipEncryption(keyring: Keyring(keys: keys, version: 1)!)
let lenient = GossipEncryption(keyring: Keyring(keys: keys, version: 1)!, verifyIncoming: false)
let nonce = [UInt8](repeating: 0x5A, count: AESGCM.nonceSize)

func fuzz(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    if mode & 1 == 0 {
        // As received: a datagram or a stream frame from anyone.
        for encryption in [strict, lenient, GossipEncryption.off] { inspect(GossipSeal.open(rest, encryption)) }
        return
    }
    // A peer that has the key: its plaintext, sealed as it would be.
    let key = keys[Int(mode >> 1) % keys.count]
    guard let sealed = AESGCM.seal(rest, key: key, nonce: nonce, aad: [GossipSeal.sealedVersion]) else {
        fuzzFail("sealing \(rest.count) bytes failed")
    }
    let packet = [GossipSeal.sealedVersion] + sealed
    let opened = GossipSeal.open(packet, strict)
    fuzzRequire(opened == .sealed(rest, key: key), "a sealed packet did not open to its plaintext: \(opened)")
    inspect(opened)
    var tampered = packet
    let flip = 1 + Int(mode) % (tampered.count - 1)
    tampered[flip] ^= 1 << (mode >> 5)
    fuzzRequire(GossipSeal.open(tampered, strict) == .refused(.noKeyOpens), "a tampered packet opened (byte \(flip))")
}

/// What the pool does next with an opened packet or frame.
func inspect(_ opened: GossipSeal.Opened) {
    switch opened {
    case .plaintext(let plain), .sealed(let plain, _):
        _ = try? SWIM.WireCodec.decodePacket(plain)
        _ = try? SWIM.WireCodec.decodePushPull(plain)
        _ = try? StreamMessage.decode(plain)
    case .refused(let why):
        _ = why.text
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let ping = SWIM.WireCodec.packet([SWIM.WireCodec.encode(.ping(SWIM.Ping(sequence: 1, target: "n2", source: "n1")))])
    let stream = StreamMessage.keyringRequest(.init(operation: .use(keys[1]), version: 2)).encode()
    return [
        [1] + ping,                                   // sealed with keys[0], then opened
        [3] + stream,                                 // sealed with keys[1]
        [0] + [GossipSeal.sealedVersion] + AESGCM.seal(ping, key: keys[0], nonce: nonce, aad: [GossipSeal.sealedVersion])!,
        [0] + ping,                                   // plaintext: refused unless lenient
        [0] + GossipSeal.refusal("no installed key opens it"),
        [0, 2] + [UInt8](repeating: 0, count: 27),    // one byte short of a seal
    ]
}
