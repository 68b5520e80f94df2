@testable import DNSServer
import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// Names outside the domain go to the recursors: the first answer is
/// relayed with the client's ID; silence from all of them is SERVFAIL.
@Suite struct DNSRecursionTests {
    final class Box: @unchecked Sendable {
        var server: DNSServer?
    }

    /// A recursor on loopback that answers every query with one A record,
    /// or stays silent.
    final class FakeRecursor: @unchecked Sendable {
        let socket: Socket
        let endpoint: Endpoint
        let queries = Mutex(0)

        init(loop: EventLoop, answers: Bool) throws {
            socket = try Socket.udp(family: AF_INET)
            try socket.bind(Endpoint(ipv4: 127, 0, 0, 1, port: 0))
            endpoint = try #require(socket.localEndpoint())
            loop.execute { [self] in
                loop.register(socket.fd, events: EventLoop.readable) { [self] _ in serve(answers: answers) }
            }
        }

        private func serve(answers: Bool) {
            var buffer = [UInt8](repeating: 0, count: 2048)
            while let (n, from) = buffer.withUnsafeMutableBytes({ socket.receiveFrom($0) }) {
                queries.withLock { $0 += 1 }
                guard answers, let from, var query = try? DNSMessage.decode(Array(buffer[0..<n])) else { continue }
                query.header.isResponse = true
                query.header.recursionAvailable = true
                query.answers = [DNSRecord(name: query.questions[0].name, ttl: 60, data: .a(0x5db8_d822))]
                _ = query.encode().bytes.withUnsafeBytes { socket.sendTo($0, from) }
            }
        }
    }

    /// Starts a DNS server forwarding to `recursors` and asks it `example.com A` over UDP.
    static func ask(recursors: [Endpoint], loop: EventLoop) throws -> DNSMessage {
        let box = Box()
        let bound = Mutex<Endpoint?>(nil)
        var configured = DNSResponderSettings()
        configured.recursionAvailable = true
        let settings = configured
        loop.execute {
            box.server = try? DNSServer(bind: Endpoint(ipv4: 127, 0, 0, 1, port: 0), settings: settings, recursors: recursors,
                                        recursorTimeout: .milliseconds(300), holder: DNSSnapshotHolder(), loop: loop)
            bound.withLock { $0 = box.server?.endpoint }
        }
        #expect(waitUntil { bound.withLock { $0 } != nil })
        defer { loop.execute { box.server?.close() } }
        let server = try #require(bound.withLock { $0 })

        let client = try Socket.udp(family: AF_INET)
        defer { client.close() }
        var query = DNSMessage(header: DNSHeader(id: 0x4242), questions: [DNSQuestion(name: DNSName("example.com")!, type: .a)])
        query.header.recursionDesired = true
        _ = query.encode().bytes.withUnsafeBytes { client.sendTo($0, server) }
        var buffer = [UInt8](repeating: 0, count: 2048)
        var reply: [UInt8]?
        _ = waitUntil(10) {
            if let (n, _) = buffer.withUnsafeMutableBytes({ client.receiveFrom($0) }) { reply = Array(buffer[0..<n]) }
            return reply != nil
        }
        return try DNSMessage.decode(try #require(reply, "no answer from the DNS server"))
    }

    @Test func theFirstRecursorThatAnswersIsRelayed() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let silent = try FakeRecursor(loop: loop, answers: false)
        let upstream = try FakeRecursor(loop: loop, answers: true)
        defer {
            silent.socket.close()
            upstream.socket.close()
        }
        let reply = try Self.ask(recursors: [silent.endpoint, upstream.endpoint], loop: loop)
        #expect(reply.header.id == 0x4242, "the client's ID, not the one used upstream")
        #expect(reply.header.rcode == .noError && reply.answers.first?.data == .a(0x5db8_d822))
        #expect(silent.queries.withLock { $0 } == 1 && upstream.queries.withLock { $0 } == 1,
                "the second recursor is asked once the first timed out")
    }

    @Test func noAnswerFromAnyRecursorIsServerFailure() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let silent = try FakeRecursor(loop: loop, answers: false)
        defer { silent.socket.close() }
        let reply = try Self.ask(recursors: [silent.endpoint], loop: loop)
        #expect(reply.header.id == 0x4242 && reply.header.rcode == .servFail)
        #expect(reply.questions.first?.name == DNSName("example.com"))
    }
}
