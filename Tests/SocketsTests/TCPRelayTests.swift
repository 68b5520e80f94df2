import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

/// The relay between real loopback connections: a client (blocking socket,
/// the test's threads) → `RelayGateway` (an event loop) → an upstream
/// server (blocking socket). Deadlines are generous and nothing is timed.
@Suite(.serialized) struct TCPRelayTests {
    /// A read chunk (the loop's read buffer).
    static let chunk = 65536

    /// 100 MiB each way at once, through the default buffer and through
    /// one so small (4 KiB, less than a read) that every read pauses its
    /// source until the destination drains.
    @Test(arguments: [TCPRelay.defaultBufferLimit, 4096])
    func bulkTransferBothWaysAtOnceArrivesIntact(bufferLimit: Int) throws {
        let total = 100 << 20
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port, bufferLimit: bufferLimit)
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        defer { client.close() }
        let server = try #require(upstream.accept())
        defer { server.close() }

        let started = Instant.monotonicNow()
        let up = TestThread { sendPattern(client, seed: 1, total: total) }
        let down = TestThread { sendPattern(server, seed: 2, total: total) }
        let atServer = TestThread { receiveHashed(server) }
        let atClient = TestThread { receiveHashed(client) }
        let (sentUp, sentDown) = (up.join(), down.join())
        let (gotUp, gotDown) = (atServer.join(), atClient.join())
        let elapsed = Instant.monotonicNow() - started

        #expect(sentUp != nil && sentDown != nil)
        #expect(gotUp?.count == total && gotDown?.count == total)
        #expect(gotUp == sentUp, "client → server stream differs")
        #expect(gotDown == sentDown, "server → client stream differs")
        let stats = try #require(gateway.awaitFinished(1)?.first)
        #expect(stats.reason.isCompleted, "\(stats)")
        #expect(stats.bytesAToB == UInt64(total) && stats.bytesBToA == UInt64(total))
        #expect(stats.peakBufferedBytes <= 2 * max(bufferLimit, Self.chunk))
        #expect(gateway.sampledPeak.load(ordering: .relaxed) <= 2 * max(bufferLimit, Self.chunk))
        print("relay bulk (limit \(bufferLimit) B): \(total >> 20) MiB each way in \(elapsed.seconds)s; \(stats);",
              "sampled peak allocation \(gateway.sampledPeakCapacity.load(ordering: .relaxed)) B")
    }

    @Test func halfCloseCarriesTheWholeAnswerAfterTheRequestsEOF() throws {
        let (requestSize, answerSize) = (100_000, 1 << 20)
        let preamble = Array("TUNNEL web\n".utf8)
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port, mode: .connectHelper, preamble: preamble)
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        defer { client.close() }

        // The server reads the whole request (up to the client's EOF), only then answers.
        let serverSide = TestThread { () -> (preamble: [UInt8]?, request: StreamHash?, answered: Bool) in
            guard let server = upstream.accept() else { return (nil, nil, false) }
            defer { server.close() }
            let head = server.receiveExactly(preamble.count)
            let request = receiveHashed(server)
            let answered = request != nil && sendPattern(server, seed: 4, total: answerSize) != nil
            return (head, request, answered)
        }
        let sent = sendPattern(client, seed: 3, total: requestSize)  // then shuts down its write side
        let answer = receiveHashed(client)
        let seen = serverSide.join()

        #expect(sent != nil)
        #expect(seen.preamble == preamble)
        #expect(seen.request == patternHash(seed: 3, total: requestSize))
        #expect(seen.answered)
        #expect(answer == patternHash(seed: 4, total: answerSize), "answer: \(answer?.count ?? -1) bytes")
        let stats = try #require(gateway.awaitFinished(1)?.first)
        #expect(stats.reason.isCompleted, "\(stats)")
        #expect(stats.bytesAToB == UInt64(requestSize) && stats.bytesBToA == UInt64(answerSize))
    }

    @Test func backpressureKeepsTheBufferBoundedWhileTheFarSideStalls() throws {
        let total = 50 << 20
        let limit = TCPRelay.defaultBufferLimit
        let bound = 2 * limit + Self.chunk
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port, bufferLimit: limit)
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        defer { client.close() }
        let server = try #require(upstream.accept())

        let progress = Progress()
        let sender = TestThread { sendPattern(client, seed: 5, total: total, progress: progress) }
        // The server does not read until the sender has stopped making
        // progress: every buffer on the way (kernel and relay) is full.
        var last = -1
        var unchanged = 0
        #expect(waitUntil(30) {
            let now = progress.bytes.load(ordering: .relaxed)
            unchanged = now == last && now > 0 ? unchanged + 1 : 0
            last = now
            return unchanged >= 50
        })
        let sentWhileStalled = progress.bytes.load(ordering: .relaxed)
        let bufferedWhileStalled = gateway.onLoop { $0.liveRelays.reduce(0) { $0 + $1.bufferedBytes } } ?? -1

        let received = receiveHashed(server)
        server.close()
        let sent = sender.join()
        #expect(sent != nil)
        #expect(received?.count == total)
        #expect(received == sent, "the stream differs after the stall")
        let stats = try #require(gateway.awaitFinished(1)?.first)
        #expect(stats.reason.isCompleted, "\(stats)")
        #expect(stats.peakBufferedBytes > 0)
        #expect(stats.peakBufferedBytes <= bound, "peak \(stats.peakBufferedBytes) > \(bound)")
        #expect(gateway.sampledPeak.load(ordering: .relaxed) <= bound)
        #expect(bufferedWhileStalled <= bound)
        print("relay backpressure: sender stalled at \(sentWhileStalled >> 10) KiB of \(total >> 10) KiB;",
              "relay held \(bufferedWhileStalled) B then; peak \(stats.peakBufferedBytes) B (sampled",
              "\(gateway.sampledPeak.load(ordering: .relaxed)) B), bound \(bound) B; sampled peak allocation",
              "\(gateway.sampledPeakCapacity.load(ordering: .relaxed)) B")
    }

    @Test(arguments: [TCPRelay.Side.a, .b])
    func resetOnOneSideResetsTheOther(_ side: TCPRelay.Side) throws {
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port)
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        guard let server = upstream.accept() else {
            client.close()
            Issue.record("upstream accepted nothing")
            return
        }
        // Both directions carry bytes first: the relay is up.
        #expect(client.sendAll(Array("hello".utf8)))
        #expect(server.receiveExactly(5) == Array("hello".utf8))
        #expect(server.sendAll(Array("world".utf8)))
        #expect(client.receiveExactly(5) == Array("world".utf8))

        let (resetting, surviving) = side == .a ? (client, server) : (server, client)
        resetting.reset()
        let ending = surviving.awaitEnd()
        surviving.close()
        #expect(ending == .reset || ending == .eof, "the other side saw \(ending)")
        let stats = try #require(gateway.awaitFinished(1)?.first)
        guard case .failed(let failed, _) = stats.reason else {
            Issue.record("relay ended with \(stats.reason)")
            return
        }
        #expect(failed == side)
    }

    @Test func fiveHundredConcurrentRelaysCompleteAndGiveBackTheirDescriptors() throws {
        let count = 500
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port, mode: .connectHelper)
        defer { gateway.shutdown() }
        let ports: Set = [upstream.port, gateway.port]
        let ownBefore = socketDescriptorCount(ports: ports)  // the two listeners
        let allBefore = openDescriptorCount()
        @Sendable func request(_ i: Int) -> [UInt8] { Array("request \(i) ".utf8) + [UInt8](repeating: UInt8(i & 0xFF), count: 200) }
        @Sendable func answer(_ request: [UInt8]) -> [UInt8] { Array("answer to ".utf8) + request }

        // The server answers each connection after its request's EOF.
        let serverSide = TestThread { () -> Int in
            var answered = 0
            for _ in 0..<count {
                guard let connection = upstream.accept() else { break }
                if let got = connection.receiveAll(limit: 4096), connection.sendAll(answer(got)) { answered += 1 }
                connection.close()
            }
            return answered
        }
        var clients: [BlockingSocket] = []
        for i in 0..<count {
            guard let client = BlockingSocket.connect(port: gateway.port) else { break }
            clients.append(client)
            _ = client.sendAll(request(i))
            client.shutdownWrite()
        }
        let allDuring = openDescriptorCount()
        var answered = 0
        for (i, client) in clients.enumerated() {
            if client.receiveAll(limit: 4096) == answer(request(i)) { answered += 1 }
            client.close()
        }
        #expect(clients.count == count)
        #expect(answered == count)
        #expect(serverSide.join() == count)
        let stats = try #require(gateway.awaitFinished(count))
        let unfinished = stats.filter { !$0.reason.isCompleted }
        #expect(unfinished.isEmpty, "\(unfinished.prefix(3))")
        #expect(waitUntil { socketDescriptorCount(ports: ports) == ownBefore },
                "sockets of the relay still open: \(socketDescriptorCount(ports: ports) - ownBefore)")
        // Other suites may open descriptors meanwhile: this one is for the log.
        _ = waitUntil(5) { openDescriptorCount() <= allBefore }
        print("relay fds: \(allBefore) before, \(allDuring) with \(count) relays, \(openDescriptorCount()) after")
    }

    @Test func idleTimeoutClosesAnIdleRelay() throws {
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let gateway = try RelayGateway(upstream: upstream.port, idleTimeout: .milliseconds(300))
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        defer { client.close() }
        let server = try #require(upstream.accept())
        defer { server.close() }
        #expect(client.awaitEnd() == .eof)
        #expect(server.awaitEnd() == .eof)
        let stats = try #require(gateway.awaitFinished(1)?.first)
        guard case .idleTimeout = stats.reason else {
            Issue.record("relay ended with \(stats.reason)")
            return
        }
    }

    @Test func connectFailureResetsTheAcceptedConnection() throws {
        let port = try #require(unusedPort())
        let gateway = try RelayGateway(upstream: port, mode: .connectHelper)
        defer { gateway.shutdown() }
        let client = try #require(BlockingSocket.connect(port: gateway.port))
        defer { client.close() }
        let ending = client.awaitEnd()
        #expect(ending == .reset || ending == .eof, "the client saw \(ending)")
        let stats = try #require(gateway.awaitFinished(1)?.first)
        guard case .connectFailed = stats.reason else {
            Issue.record("relay ended with \(stats.reason)")
            return
        }
    }
}
