// A push/pull stream's payload (TCP, a 4-byte length in front): the
// plaintext member state (SWIM.WireCodec.decodePushPull), or, inside a
// sealed stream, a StreamMessage (push/pull with the sender's keyring, a
// keyring request or answer). The frame itself is read by FrameReader.
import Crypto
@testable import Membership
@testable import MembershipCore
import Sockets

func fuzz(_ bytes: [UInt8]) {
    // The length prefix as a peer sends it, fed as it arrives.
    var reader = FrameReader(limit: 1 << 20)
    var framed: [UInt8]?
    for piece in fuzzPieces(bytes) where framed == nil {
        switch piece.withUnsafeBytes({ reader.append($0) }) {
        case .needMore: continue
        case .tooLarge: return
        case .frame(let payload): framed = payload
        }
    }
    // The whole input is also a payload (as after a framed read).
    for payload in [bytes] + (framed.map { [$0] } ?? []) {
        if let state = try? SWIM.WireCodec.decodePushPull(payload) {
            fuzzRoundTrip(state, "push/pull state", encode: SWIM.WireCodec.encode, decode: SWIM.WireCodec.decodePushPull)
        }
        if let message = try? StreamMessage.decode(payload) {
            fuzzRoundTrip(message, "stream message", encode: { $0.encode() }, decode: StreamMessage.decode)
        }
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let keys = [AESGCM.Key([UInt8](repeating: 1, count: 32))!, AESGCM.Key([UInt8](repeating: 2, count: 16))!]
    let ring = Keyring(keys: keys, version: 5)!
    let state = SWIM.PushPull(join: true, nodes: [
        SWIM.NodeState(name: "n1", address: Endpoint(ipv4: 10, 0, 0, 1, port: 8301), meta: [2, 0x85, 4, 110, 111, 100, 101],
                       incarnation: 3, status: .alive),
        SWIM.NodeState(name: "n2", address: Endpoint(ip: "fd00::2", port: 8301)!, meta: [], incarnation: 1, status: .suspect),
    ], userState: [3, 0, 0, 0, 0])
    let plain = SWIM.WireCodec.encode(state)
    return [
        plain,
        FrameReader.frame(plain),
        StreamMessage.pushPull(ring: ring, payload: plain).encode(),
        StreamMessage.keyringRequest(.init(operation: .install(keys[1]), version: 6)).encode(),
        StreamMessage.keyringRequest(.init(operation: nil, version: 0)).encode(),
        StreamMessage.keyringAnswer(ring: ring, error: "key not installed").encode(),
    ]
}
