@testable import Agent
@testable import CatalogCore
import Sockets
import TestSupport
import Testing

/// The server RPC wire format: every frame round-trips, the framer splits
/// a stream wherever it is cut, and decoding any bytes never traps.
@Suite struct RPCMessageTests {
    static let frames: [RPC.Frame] = [
        .request(id: 1, RPC.Envelope(datacenter: "dc2", hops: 1,
                                     request: .http(method: "GET", target: "/v1/health/service/web?dc=dc2&passing&index=7&wait=5m", body: []))),
        .request(id: 2, RPC.Envelope(datacenter: "dc3", hops: 0, request: .http(method: "PUT", target: "/v1/catalog/register?dc=dc3", body: Array("{\"Node\":\"x\"}".utf8)))),
        .request(id: 3, RPC.Envelope(datacenter: "dc2", hops: 2, request: .dns(packet: [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], tcp: true))),
        .request(id: UInt64.max, RPC.Envelope(datacenter: "dc1", hops: 0, request: .datacenters)),
        .answer(id: 1, .http(RPC.HTTPAnswer(status: 200, headers: [("X-Consul-Index", "7"), ("Content-Type", "application/json")], body: Array("[]".utf8)))),
        .answer(id: 3, .dns([0x12, 0x34, 0x84, 0])),
        .answer(id: 4, .datacenters(["dc1", "dc2", "dc3"])),
        .answer(id: 5, .failure(.noPath)),
        .answer(id: 6, .failure(RPC.Failure(.overloaded, "rpc: too many requests in flight"))),
    ]

    @Test func everyFrameRoundTrips() throws {
        for frame in Self.frames {
            let bytes = RPC.encode(frame)
            let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            #expect(length == bytes.count - 4)
            #expect(try RPC.decode(Array(bytes.dropFirst(4))) == frame)
        }
    }

    @Test func theFramerSplitsAStreamCutAnywhere() throws {
        let stream = Self.frames.flatMap(RPC.encode)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var framer = RPCFramer()
            var bodies: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                let n = min(stream.count - offset, Int.random(in: 1...40, using: &rng))
                bodies += try stream[offset..<(offset + n)].withUnsafeBytes { try framer.feed($0) }
                offset += n
            }
            #expect(try bodies.map(RPC.decode) == Self.frames)
        }
    }

    @Test func anOversizedFrameIsRefusedBeforeItIsBuffered() {
        var framer = RPCFramer()
        let header: [UInt8] = [0x7f, 0xff, 0xff, 0xff, 1]
        #expect(throws: RPCFramer.Failure.self) { _ = try header.withUnsafeBytes { try framer.feed($0) } }
    }

    @Test func decodingAnyBytesNeverTraps() {
        var rng = SplitMix64(seed: 99)
        let seeds = Self.frames.map { Array(RPC.encode($0).dropFirst(4)) }
        var decoded = 0
        for i in 0..<20_000 {
            let input = i % 4 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: [0, 1, 2, 3, 16, 17, 0xff], maxCount: 64)
                : Fuzzer.mutate(seeds[i % seeds.count], &rng, alphabet: [0, 1, 0x7f, 0xff], edits: 1...4, maxRun: 8)
            if let frame = try? RPC.decode(input) {
                decoded += 1
                #expect((try? RPC.decode(Array(RPC.encode(frame).dropFirst(4)))) == frame, "re-encoding is stable")
            }
        }
        #expect(decoded > 0)
    }

    @Test func forwardedBlockingQueriesWaitAsLongAsTheyAsk() {
        #expect(Federation.timeout(forTarget: "/v1/catalog/nodes?dc=dc2") == Federation.requestTimeout)
        #expect(Federation.timeout(forTarget: "/v1/health/service/web?dc=dc2&index=5&wait=60s") == .seconds(60) + .seconds(60) / 16 + .seconds(15))
        #expect(Federation.timeout(forTarget: "/v1/health/service/web?index=5") == .seconds(300) + .seconds(300) / 16 + .seconds(15),
                "Consul's default wait")
        #expect(Federation.timeout(forTarget: "/v1/health/service/web?index=5&wait=2h") == .seconds(600) + .seconds(600) / 16 + .seconds(15),
                "capped at 10 minutes")
    }
}
