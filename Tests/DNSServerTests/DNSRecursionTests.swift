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
        /// Where each query came from, and its ID.
        let seen = Mutex<[(Endpoint, UInt16)]>([])
        /// Answer first as an attacker would: the right ID and address, another question.
        var spoofFirst = false

        init(loop: EventLoop, answers: Bool, spoofFirst: Bool = false) throws {
            self.spoofFirst = spoofFirst
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
                seen.withLock { $0.append((from, query.header.id)) }
                if spoofFirst {
                    var forged = query
                    forged.header.isResponse = true
                    forged.questions = [DNSQuestion(name: DNSName("evil.example")!, type: .a)]
                    forged.answers = [DNSRecord(name: DNSName("evil.example")!, ttl: 60, data: .a(0x0101_0101))]
                    _ = forged.encode().bytes.withUnsafeBytes { socket.sendTo($0, from) }
                }
                query.header.isResponse = true
                query.header.recursionAvailable = true
                query.answers = [DNSRecord(name: query.questions[0].name, ttl: 60, data: .a(0x5db8_d822))]
                _ = query.encode().bytes.withUnsafeBytes { socket.sendTo($0, from) }
            }
        }
    }

    /// Starts a DNS server forwarding to `recursors` and asks it `example.com A` over UDP.
    static func ask(recursors: [Endpoint], loop: EventLoop, names: [String] = ["example.com"]) throws -> [DNSMessage] {
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
        var replies: [DNSMessage] = []
        for name in names {
            var query = DNSMessage(header: DNSHeader(id: 0x4242), questions: [DNSQuestion(name: DNSName(name)!, type: .a)])
            query.header.recursionDesired = true
            _ = query.encode().bytes.withUnsafeBytes { client.sendTo($0, server) }
            var buffer = [UInt8](repeating: 0, count: 2048)
            var reply: [UInt8]?
            _ = waitUntil(10) {
                if let (n, _) = buffer.withUnsafeMutableBytes({ client.receiveFrom($0) }) { reply = Array(buffer[0..<n]) }
                return reply != nil
            }
            replies.append(try DNSMessage.decode(try #require(reply, "no answer from the DNS server")))
        }
        return replies
    }

    /// RFC 5452: every forwarded query leaves from a port of its own with an
    /// unpredictable ID (it used to be one fixed port), and an answer that
    /// does not echo the question is dropped even with the right ID.
    @Test func eachQueryLeavesFromItsOwnPortWithARandomIDAndForgedAnswersAreDropped() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let upstream = try FakeRecursor(loop: loop, answers: true, spoofFirst: true)
        defer { upstream.socket.close() }
        let names = (0..<20).map { "host\($0).example.com" }
        let replies = try Self.ask(recursors: [upstream.endpoint], loop: loop, names: names)
        for (name, reply) in zip(names, replies) {
            #expect(reply.header.rcode == .noError && reply.questions.first?.name == DNSName(name))
            #expect(reply.answers.map(\.data) == [.a(0x5db8_d822)], "the forged answer for another question was dropped")
        }
        let seen = upstream.seen.withLock { $0 }
        #expect(seen.count == 20)
        #expect(Set(seen.map(\.0.port)).count >= 18, "source ports: \(seen.map(\.0.port))")
        #expect(Set(seen.map(\.1)).count >= 18, "query IDs: \(seen.map(\.1))")
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
        let reply = try #require(try Self.ask(recursors: [silent.endpoint, upstream.endpoint], loop: loop).first)
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
        let reply = try #require(try Self.ask(recursors: [silent.endpoint], loop: loop).first)
        #expect(reply.header.id == 0x4242 && reply.header.rcode == .servFail)
        #expect(reply.questions.first?.name == DNSName("example.com"))
    }
}
