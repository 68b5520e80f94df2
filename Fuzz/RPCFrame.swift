// The server port's RPC stream (mutual TLS outside, this inside): frames
// cut from the stream by RPCFramer as they arrive, each decoded
// (RPC.decode), checked against the allow-list, and an HTTP request's
// method and target read as the forwarded request is built.
@testable import Agent
@testable import CatalogCore
import HTTPAPI

func fuzz(_ bytes: [UInt8]) {
    // The same frames whatever the split, or the same refusal.
    var whole = RPCFramer()
    let wholeFrames = try? bytes.withUnsafeBytes { try whole.feed($0) }
    var split = RPCFramer()
    var splitFrames: [[UInt8]]? = []
    for piece in fuzzPieces(bytes) {
        guard let frames = try? piece.withUnsafeBytes({ try split.feed($0) }) else { splitFrames = nil; break }
        splitFrames? += frames
    }
    fuzzRequire(wholeFrames == splitFrames, "the split changed the frames")
    var first = RPCFramer()
    if let (frame, rest) = (try? bytes.withUnsafeBytes { try first.feedFirst($0) }) ?? nil, let wholeFrames {
        fuzzRequire(frame == wholeFrames.first && rest == Array(bytes.dropFirst(4 + frame.count)), "feedFirst and feed disagree")
    }
    // A bare frame body too (as when the length is right).
    for body in (wholeFrames ?? []) + [bytes] {
        guard let frame = try? RPC.decode(body) else { continue }
        fuzzRoundTrip(frame, "RPC frame", encode: { Array(RPC.encode($0).dropFirst(4)) }, decode: RPC.decode)
        if case .request(_, let envelope) = frame {
            _ = RPCAllowList.refusal(of: envelope.request)
            if case .http(let method, let target, let body) = envelope.request {
                _ = HTTPRequest(method: method, target: target, body: body)
            }
        }
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let frames: [RPC.Frame] = [
        .request(id: 1, RPC.Envelope(datacenter: "dc2", hops: 1, request: .http(method: "GET", target: "/v1/health/service/web?passing&dc=dc2", body: []))),
        .request(id: 2, RPC.Envelope(datacenter: "dc2", hops: 0, request: .http(method: "PUT", target: "/v1/kv/a%2Fb", body: Array("x".utf8)))),
        .request(id: 3, RPC.Envelope(datacenter: "dc2", hops: 0, request: .dns(packet: [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1], tcp: false))),
        .request(id: 4, RPC.Envelope(datacenter: "dc1", hops: 2, request: .datacenters)),
        .request(id: 5, RPC.Envelope(datacenter: "dc2", hops: 0, request: .tunnel(service: "backend"))),
        .answer(id: 1, .http(RPC.HTTPAnswer(status: 200, headers: [("X-Consul-Index", "7"), ("Content-Type", "application/json")], body: Array("[]".utf8)))),
        .answer(id: 3, .dns([0x12, 0x34, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0])),
        .answer(id: 4, .datacenters(["dc1", "dc2"])),
        .answer(id: 5, .tunnelOpen),
        .answer(id: 6, .failure(RPC.Failure(.noPath, "No path to datacenter"))),
    ]
    // Single frames, and a stream of three (a tunnel's raw bytes after its frame).
    return frames.map(RPC.encode) + [RPC.encode(frames[0]) + RPC.encode(frames[3]) + RPC.encode(frames[4]) + Array("raw".utf8)]
}
