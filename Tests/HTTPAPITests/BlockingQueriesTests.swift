import Glibc
@testable import HTTPAPI
import Sockets
import Synchronization
import TestSupport
import Testing

@Suite struct BlockingQueriesTests {
    final class Box: @unchecked Sendable {
        var queries: BlockingQueries?
    }

    @Test func changeAnswersEveryWaiterAndTheWaitEndsTheRest() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let resumed = Mutex<[String]>([])
        loop.execute {
            let q = BlockingQueries(loop: loop)
            box.queries = q
            for i in 0..<1000 { q.park(until: q.deadline(wait: .seconds(60))) { changed in resumed.withLock { $0.append(changed ? "change-\(i)" : "early-timeout") } } }
        }
        #expect(waitUntil { loop.sync { box.queries != nil } == true })
        loop.execute { box.queries?.changed() }
        #expect(waitUntil { resumed.withLock { $0.count } == 1000 }, "one change answers all parked queries")
        #expect(resumed.withLock { $0.allSatisfy { $0.hasPrefix("change-") } }, "each as a change")
        loop.execute {
            guard let q = box.queries else { return }
            q.park(until: q.deadline(wait: .milliseconds(50))) { changed in resumed.withLock { $0.append(changed ? "change" : "timeout") } }
        }
        #expect(waitUntil { resumed.withLock { $0.last } == "timeout" }, "an unchanged catalog answers at the deadline")
        #expect(resumed.withLock { $0.count } == 1001, "each waiter is answered exactly once")
    }

    @Test func waitParameterFollowsConsul() {
        #expect(BlockingQueries.wait(nil) == .seconds(300))
        #expect(BlockingQueries.wait("") == .seconds(300))
        #expect(BlockingQueries.wait("300000ms") == .seconds(300))
        #expect(BlockingQueries.wait("5m") == .seconds(300))
        #expect(BlockingQueries.wait("1h") == .seconds(600), "capped at 10 minutes")
        #expect(BlockingQueries.wait("soon") == nil)
    }
}

/// A parked request must outlive the connection idle timeout.
@Suite struct IdleTimeoutTests {
    @Test func slowAnswerIsNotCutByTheIdleTimeout() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = BlockingQueriesTests.Box()
        let port = Mutex<UInt16?>(nil)
        final class ServerBox: @unchecked Sendable { var server: HTTPServer? }
        let holder = ServerBox()
        loop.execute {
            guard let bind = Endpoint(ip: "127.0.0.1", port: 0) else { return }
            holder.server = try? HTTPServer(bind: bind, loop: loop, idleTimeout: .milliseconds(200)) { _, respond in
                // Answer after five idle periods, as a blocking query would.
                loop.schedule(after: .seconds(1)) { respond(HTTPResponse(status: 200, body: Array("late".utf8))) }
            }
            port.withLock { $0 = holder.server?.endpoint.port }
            _ = box
        }
        #expect(waitUntil { port.withLock { $0 } != nil })
        let p = try #require(port.withLock { $0 })
        let r = try HTTPClient.send(host: "127.0.0.1", port: p, path: "/slow", timeoutSeconds: 10)
        #expect(r.status == 200 && r.body == Array("late".utf8))
    }
}
