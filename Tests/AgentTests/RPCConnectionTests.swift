@testable import Agent
@testable import CatalogCore
import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// The server port's connections on a real loop: an idle one is closed, a
/// request in flight (a blocking query) holds it open past the idle
/// timeout, and an answer too large for a frame becomes a failure instead
/// of a frame the client would drop the shared connection over.
@Suite struct RPCConnectionTests {
    final class Box: @unchecked Sendable {
        var server: RPCServer?
        var client: RPCClient?
        var answers: [RPC.Answer] = []
    }

    /// Closes the client, waits for the server to see every connection
    /// close, then lets both go (their callbacks hold the box).
    static func closeAll(_ loop: EventLoop, _ box: Box) {
        loop.execute { box.client?.close(); box.client = nil }
        #expect(waitUntil { loop.sync { box.server?.connections ?? 0 } == 0 })
        loop.execute { box.server?.close(); box.server = nil }
    }

    static func request(_ target: String) -> RPC.Envelope {
        RPC.Envelope(datacenter: "dc1", hops: 1, request: .http(method: "GET", target: target, body: []))
    }

    /// A server with a 300 ms idle timeout: "/slow" answers after 900 ms,
    /// "/huge" with a body past the frame limit, anything else at once.
    static func start(_ loop: EventLoop, _ box: Box) -> Endpoint? {
        let bound = Mutex<Endpoint?>(nil)
        loop.execute {
            for octet in UInt8(1)...40 where box.server == nil {
                guard let e = Endpoint(ip: "127.0.73.\(octet)", port: 18390) else { continue }
                box.server = try? RPCServer(bind: e, loop: loop, idleTimeout: .milliseconds(300)) { envelope, _, reply in
                    guard case .http(_, let target, _) = envelope.request else { return reply(.failure(.noPath)) }
                    switch target {
                    case "/slow":
                        _ = loop.schedule(after: .milliseconds(900)) { reply(.http(RPC.HTTPAnswer(status: 200, headers: [], body: Array("slow".utf8)))) }
                    case "/huge":
                        reply(.http(RPC.HTTPAnswer(status: 200, headers: [], body: [UInt8](repeating: 0x78, count: RPC.frameLimit + 1))))
                    default:
                        reply(.http(RPC.HTTPAnswer(status: 200, headers: [], body: Array(target.utf8))))
                    }
                }
                if box.server != nil { bound.withLock { $0 = e } }
            }
        }
        _ = waitUntil { bound.withLock { $0 } != nil }
        return bound.withLock { $0 }
    }

    @Test func anIdleConnectionIsClosedButOneWithARequestInFlightIsNot() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let endpoint = try #require(Self.start(loop, box))
        // A stranger that connects and says nothing is closed after the idle timeout.
        let fd = connectTCP(endpoint.ip, endpoint.port, receiveTimeout: 20)
        defer { close(fd) }
        #expect(fd >= 0)
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, 0) == 0, "the server closed the idle connection")

        // A request answered after three idle timeouts is answered.
        loop.execute {
            box.client = RPCClient(endpoint: endpoint, loop: loop, idleTimeout: .seconds(60))
            box.client?.send(Self.request("/slow"), timeout: .seconds(10)) { box.answers.append($0) }
        }
        #expect(waitUntil { loop.sync { box.answers.count } == 1 })
        let answer = loop.sync { box.answers.first } ?? nil
        #expect(answer == .http(RPC.HTTPAnswer(status: 200, headers: [], body: Array("slow".utf8))))
        Self.closeAll(loop, box)
    }

    @Test func anAnswerPastTheFrameLimitIsAFailureAndTheConnectionCarriesOn() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let endpoint = try #require(Self.start(loop, box))
        loop.execute {
            box.client = RPCClient(endpoint: endpoint, loop: loop, idleTimeout: .seconds(60))
            box.client?.send(Self.request("/slow"), timeout: .seconds(10)) { box.answers.append($0) }
            box.client?.send(Self.request("/huge"), timeout: .seconds(10)) { box.answers.append($0) }
        }
        #expect(waitUntil { loop.sync { box.answers.count } == 2 })
        let answers = loop.sync { box.answers } ?? []
        guard answers.count == 2, case .failure(let failure) = answers[0] else {
            Issue.record("the huge answer comes first, as a failure: \(answers.map { "\($0)".prefix(80) })")
            return
        }
        #expect(failure.message.contains("exceeds the frame limit"))
        // The request in flight beside it on the same connection was not lost.
        #expect(answers[1] == .http(RPC.HTTPAnswer(status: 200, headers: [], body: Array("slow".utf8))))
        Self.closeAll(loop, box)
    }
}
