import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// `TCPConnection`'s flow control and half-close, on a loop, against a
/// blocking client.
@Suite(.serialized) struct TCPConnectionFlowTests {
    /// Accepts on 127.0.0.1 and hands each connection to `configure` on the loop.
    final class LoopServer: @unchecked Sendable {
        let loop: EventLoop
        private let portValue = Shared(0)
        var port: UInt16 { UInt16(portValue.value) }
        // Loop-confined.
        private var listener: TCPListener?
        private(set) var connections: [TCPConnection] = []

        init(configure: @escaping @Sendable (TCPConnection) -> Void) throws {
            loop = try EventLoop.startThread()
            loop.execute { [self] in
                listener = try? TCPListener(bind: Endpoint(ipv4: 127, 0, 0, 1, port: 0), loop: loop) { [self] socket, peer in
                    let connection = TCPConnection(accepted: socket, peer: peer, loop: loop)
                    connections.append(connection)
                    configure(connection)
                }
                portValue.set(Int(listener?.socket.localEndpoint()?.port ?? 0))
            }
            _ = waitUntil { portValue.value != 0 }
        }

        func onLoop(_ body: @escaping @Sendable (LoopServer) -> Void) {
            let done = Shared(false)
            loop.execute { [self] in
                body(self)
                done.set(true)
            }
            _ = waitUntil { done.value }
        }

        func shutdown() {
            onLoop { server in
                server.listener?.close()
                for connection in server.connections { connection.close() }
            }
            loop.stop()
        }
    }

    @Test func pausedConnectionHandsOverNothingUntilResumed() throws {
        let received = Shared(0)
        let server = try LoopServer { connection in
            connection.pauseReading()
            connection.onBytes = { _, bytes in received.update { $0 += bytes.count } }
        }
        defer { server.shutdown() }
        let client = try #require(BlockingSocket.connect(port: server.port))
        defer { client.close() }
        #expect(client.sendAll([UInt8](repeating: 1, count: 100_000)))
        usleep(200_000)  // (a negative check: bytes that arrive now are the failure)
        #expect(received.value == 0)
        server.onLoop { $0.connections.first?.resumeReading() }
        #expect(waitUntil { received.value == 100_000 })
    }

    @Test func halfClosedConnectionAnswersAfterThePeersEOFThenFinishes() throws {
        let closedCleanly = Shared<Bool?>(nil)
        let server = try LoopServer { connection in
            var got = 0
            connection.onBytes = { _, bytes in got += bytes.count }
            connection.onReadEOF = { connection in
                connection.write(Array("got \(got)".utf8))
                connection.shutdownWriteWhenFlushed()
                connection.write(Array(" and more".utf8))  // ignored: the write side is shutting down
            }
            connection.onClose = { connection, error in
                closedCleanly.set(error == nil && connection.isReadClosed && connection.isWriteClosed)
            }
        }
        defer { server.shutdown() }
        let client = try #require(BlockingSocket.connect(port: server.port))
        defer { client.close() }
        #expect(client.sendAll([UInt8](repeating: 2, count: 10_000)))
        client.shutdownWrite()
        #expect(client.receiveAll() == Array("got 10000".utf8))
        #expect(waitUntil { closedCleanly.value != nil })
        #expect(closedCleanly.value == true)
    }

    @Test func drainedFollowsAnOutboxTheKernelCouldNotTakeAtOnce() throws {
        let size = 16 << 20
        let queued = Shared(-1)
        let drained = Shared(0)
        let server = try LoopServer { connection in
            connection.onDrained = { connection in
                drained.update { $0 += 1 }
                connection.close()
            }
            connection.write([UInt8](repeating: 3, count: size))
            queued.set(connection.pendingOutput)
        }
        defer { server.shutdown() }
        let client = try #require(BlockingSocket.connect(port: server.port))
        defer { client.close() }
        #expect(waitUntil { queued.value >= 0 })
        #expect(queued.value > 0)
        #expect(drained.value == 0)
        #expect(client.receiveAll(limit: size)?.count == size)
        #expect(drained.value == 1)
    }

    /// Both FINs exchanged while reading is paused: epoll reports a hang-up
    /// whatever the interest, so the connection must step out of epoll
    /// (not spin the loop) and still hand over the bytes and the EOF later.
    @Test func pausedConnectionAfterBothFINsDoesNotSpinAndDeliversLater() throws {
        let received = Shared(0)
        let sawEOF = Shared(false)
        let closedCleanly = Shared<Bool?>(nil)
        let server = try LoopServer { connection in
            connection.pauseReading()
            connection.onBytes = { _, bytes in received.update { $0 += bytes.count } }
            connection.onReadEOF = { _ in sawEOF.set(true) }
            connection.onClose = { connection, error in
                closedCleanly.set(error == nil && connection.isReadClosed && connection.isWriteClosed)
            }
            connection.shutdownWriteWhenFlushed()
        }
        defer { server.shutdown() }
        let client = try #require(BlockingSocket.connect(port: server.port))
        defer { client.close() }
        #expect(client.awaitEnd() == .eof)  // the server's FIN
        #expect(client.sendAll([UInt8](repeating: 4, count: 1000)))
        client.shutdownWrite()

        // The loop thread's CPU time over a quiet half second: a spinning
        // loop burns all of it, an idle one next to none.
        let cpuBefore = server.cpuTimeOfLoop()
        usleep(500_000)
        let cpuUsed = server.cpuTimeOfLoop() - cpuBefore
        #expect(cpuUsed < .milliseconds(250), "the loop spun: \(cpuUsed) of CPU in 0.5 s")
        #expect(received.value == 0)

        server.onLoop { $0.connections.first?.resumeReading() }
        #expect(waitUntil { closedCleanly.value != nil })
        #expect(received.value == 1000)
        #expect(sawEOF.value)
        #expect(closedCleanly.value == true)
    }
}

extension TCPConnectionFlowTests.LoopServer {
    /// CPU time the loop's thread has used so far.
    func cpuTimeOfLoop() -> Duration {
        let answer = Shared<Duration?>(nil)
        loop.execute {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            answer.set(.seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec))
        }
        _ = waitUntil { answer.value != nil }
        return answer.value ?? .zero
    }
}

/// The test streams' own checks: a hash that misses a changed byte would
/// let a broken relay pass.
@Suite struct StreamHashTests {
    @Test func hashIgnoresHowTheStreamIsCutAndSeesEveryByte() {
        var bytes = [UInt8](repeating: 0, count: 100_003)
        var pattern = PatternStream(seed: 9)
        bytes.withUnsafeMutableBytes { pattern.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<100_000])) }
        func hash(_ bytes: [UInt8], cuts: [Int]) -> StreamHash {
            var hash = StreamHash()
            var start = 0
            for end in cuts + [bytes.count] {
                bytes.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
                start = end
            }
            return hash
        }
        let whole = hash(bytes, cuts: [])
        #expect(hash(bytes, cuts: [1, 7, 8, 9, 65_536, 99_999]).value == whole.value)
        for position in [0, 5, 8, 50_001, 100_002] {
            var changed = bytes
            changed[position] ^= 0x80
            #expect(hash(changed, cuts: [3]).value != whole.value, "byte \(position)")
        }
        #expect(hash(Array(bytes.dropLast()), cuts: []).value != whole.value)
        #expect(patternHash(seed: 9, total: 100_000) == hash(Array(bytes.prefix(100_000)), cuts: [4096]))
    }
}
