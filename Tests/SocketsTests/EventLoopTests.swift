import Glibc
import Sockets
import Synchronization
import TestSupport
import Testing

@Suite struct EventLoopTests {
    /// Non-blocking, so a handler called without data never blocks the loop.
    static func nonBlockingPipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        return true
    }

    /// Loop-confined state of the fd-reuse test.
    final class Reuse: @unchecked Sendable {
        var reusedFD: Int32 = -1
        var writeEnds: [Int32] = []
        var readEnds: [Int32] = []
        var callsOnNewRegistration = 0
    }

    /// Two fds are ready in one epoll batch; the handler of the first
    /// closes the second and registers a new fd under its number (as an
    /// accept after a close does). The second's event, already in the
    /// batch, belongs to the closed fd and must not reach the new handler.
    @Test func anEventOfAClosedFdIsNotHandedToTheRegistrationThatReusedItsNumber() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let state = Reuse()
        let callsAfterTheBatch = Mutex<Int?>(nil)
        let callsAfterAWrite = Mutex<Int>(0)
        loop.execute {
            var first = [Int32](repeating: -1, count: 2), second = [Int32](repeating: -1, count: 2)
            guard Self.nonBlockingPipe(&first), Self.nonBlockingPipe(&second) else { return }
            state.readEnds = [first[0], second[0]]
            state.writeEnds = [first[1], second[1]]
            var byte: UInt8 = 1
            // Both readable before the loop next waits: one batch holds both.
            for end in state.writeEnds { _ = write(end, &byte, 1) }
            let fds = state.readEnds
            for (i, fd) in fds.enumerated() {
                loop.register(fd, events: EventLoop.readable) { _ in
                    var drained: UInt8 = 0
                    _ = read(fd, &drained, 1)
                    guard state.reusedFD < 0 else { return }
                    let other = fds[1 - i]
                    loop.deregister(other)
                    var fresh = [Int32](repeating: -1, count: 2)
                    guard Self.nonBlockingPipe(&fresh), dup2(fresh[0], other) == other else { return }
                    close(fresh[0])
                    let freshWriteEnd = fresh[1]
                    state.reusedFD = other
                    state.writeEnds.append(fresh[1])
                    loop.register(other, events: EventLoop.readable) { _ in
                        var b: UInt8 = 0
                        _ = read(other, &b, 1)
                        state.callsOnNewRegistration += 1
                        callsAfterAWrite.withLock { $0 = state.callsOnNewRegistration }
                    }
                    // Runs once this batch is dispatched: the new pipe is
                    // empty, so its handler must not have run yet.
                    loop.execute {
                        callsAfterTheBatch.withLock { $0 = state.callsOnNewRegistration }
                        var one: UInt8 = 1
                        _ = write(freshWriteEnd, &one, 1)
                    }
                }
            }
        }
        #expect(waitUntil { callsAfterTheBatch.withLock { $0 } != nil }, "the handlers never ran")
        #expect(callsAfterTheBatch.withLock { $0 } == 0, "the closed fd's event reached the new registration")
        // The new registration itself works: a byte written to it is seen.
        #expect(waitUntil { callsAfterAWrite.withLock { $0 } == 1 }, "the new registration never saw its byte")
        let closed = Mutex(false)
        loop.execute {
            for fd in state.readEnds { loop.deregister(fd); close(fd) }
            for fd in state.writeEnds { close(fd) }
            closed.withLock { $0 = true }
        }
        _ = waitUntil { closed.withLock { $0 } }
    }
}
