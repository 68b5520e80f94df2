@testable import Membership
@testable import MembershipCore
import Sockets
import Testing

@Suite struct WireCodecTests {
    static let address = Endpoint(ip: "127.0.0.9", port: 8301)!
    static let v6 = Endpoint(ip: "::1", port: 8302)!

    static let samples: [SWIM.Message] = [
        .ping(SWIM.Ping(sequence: 7, target: "web-1", source: "db-2", targetIncarnation: 3, suspectsTarget: true,
                        senderLiveMembers: 40)),
        .indirectPing(SWIM.IndirectPing(sequence: 8, target: "web-1", targetAddress: v6, wantsNack: true, source: "db-2")),
        .ack(sequence: 9, liveMembers: 12),
        .nack(sequence: 10),
        .alive(SWIM.Alive(incarnation: 4, name: "api", address: address, meta: [1, 2, 3])),
        .suspect(SWIM.Accusation(incarnation: 5, name: "api", from: "web-1")),
        .dead(SWIM.Accusation(incarnation: 6, name: "api", from: "api")),
        .user(Array("hello".utf8)),
        .coordinateRequest,
        // Values a Float32 holds exactly: the wire carries 32-bit floats.
        .coordinate(Vivaldi.Coordinate(vector: [0.25, -0.5, 0, 0, 0.125, 0, 0, 1], error: 1.5, adjustment: -0.0625,
                                       height: 0.03125)),
    ]

    @Test func everyMessageRoundTrips() throws {
        for message in Self.samples {
            let packet = SWIM.WireCodec.packet([SWIM.WireCodec.encode(message)])
            #expect(packet.first == SWIM.wireVersion)
            #expect(try SWIM.WireCodec.decodePacket(packet) == [message])
        }
    }

    @Test func compoundPacketCarriesAllMessagesInOrder() throws {
        let packet = SWIM.WireCodec.packet(Self.samples.map(SWIM.WireCodec.encode))
        #expect(try SWIM.WireCodec.decodePacket(packet) == Self.samples)
    }

    @Test func unknownKindInsideCompoundIsSkipped() throws {
        var parts = Self.samples.prefix(2).map(SWIM.WireCodec.encode)
        parts.insert([200, 1, 2, 3], at: 1)  // a message kind from a newer peer
        let decoded = try SWIM.WireCodec.decodePacket(SWIM.WireCodec.packet(parts))
        #expect(decoded == Array(Self.samples.prefix(2)))
    }

    @Test func wrongVersionAndTruncationAreErrors() {
        var packet = SWIM.WireCodec.packet([SWIM.WireCodec.encode(Self.samples[4])])
        packet[0] = 99
        #expect(throws: DecodeError.self) { try SWIM.WireCodec.decodePacket(packet) }
        packet[0] = SWIM.wireVersion
        for cut in 0..<packet.count - 1 {
            #expect(throws: DecodeError.self) { try SWIM.WireCodec.decodePacket(Array(packet.prefix(cut))) }
        }
        #expect(throws: DecodeError.self) { try SWIM.WireCodec.decodePacket(packet + [0]) }
    }

    @Test func pushPullRoundTripsAndRejectsLyingCounts() throws {
        let state = SWIM.PushPull(join: true, nodes: [
            SWIM.NodeState(name: "a", address: Self.address, meta: [9], incarnation: 1, status: .alive),
            SWIM.NodeState(name: "b", address: Self.v6, meta: [], incarnation: 2, status: .left),
        ], userState: [1, 2, 3, 4])
        let bytes = SWIM.WireCodec.encode(state)
        #expect(try SWIM.WireCodec.decodePushPull(bytes) == state)
        var lying = bytes
        lying[3] = 0xff  // node count's high byte: claims millions of rows
        #expect(throws: DecodeError.self) { try SWIM.WireCodec.decodePushPull(lying) }
    }

    /// 100,000 random and mutated packets: each decodes or throws, never traps.
    @Test func randomAndMutatedPacketsNeverCrash() {
        var rng = SWIM.SeededRandom(seed: 2024)
        let valid = Self.samples.map { SWIM.WireCodec.packet([SWIM.WireCodec.encode($0)]) }
            + [SWIM.WireCodec.packet(Self.samples.map(SWIM.WireCodec.encode))]
        var decoded = 0, rejected = 0
        for i in 0..<100_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if !bytes.isEmpty && i % 4 == 0 { bytes[0] = SWIM.wireVersion }
            } else {
                bytes = valid[Int.random(in: 0..<valid.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.remove(at: at)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                    }
                }
            }
            if (try? SWIM.WireCodec.decodePacket(bytes)) != nil { decoded += 1 } else { rejected += 1 }
            _ = try? SWIM.WireCodec.decodePushPull(bytes)
        }
        #expect(decoded + rejected == 100_000)
        #expect(rejected > 0 && decoded > 0)
    }
}
