import Glibc
@testable import HTTPAPI
import Sockets
import Synchronization
import Testing

@Suite struct BlockingQueriesTests {
    final class Box: @unchecked Sendable {
        var queries: BlockingQueries?
    }

    static func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = Instant.monotonicNow() + .seconds(20)
        while Instant.monotonicNow() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func changeAnswersEveryWaiterAndTheWaitEndsTheRest() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let resumed = Mutex<[String]>([])
        loop.execute {
            let q = BlockingQueries(loop: loop)
            box.queries = q
            for i in 0..<1000 { q.park(wait: .seconds(60)) { resumed.withLock { $0.append("change-\(i)") } } }
        }
        #expect(Self.waitUntil { loop.execute {}; return box.queries != nil })
        loop.execute { box.queries?.catalogChanged() }
        #expect(Self.waitUntil { resumed.withLock { $0.count } == 1000 }, "one change answers all parked queries")
        loop.execute { box.queries?.park(wait: .milliseconds(50)) { resumed.withLock { $0.append("timeout") } } }
        #expect(Self.waitUntil { resumed.withLock { $0.last } == "timeout" }, "an unchanged catalog answers at the deadline")
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
