import Glibc
import Membership
import Sockets
import Synchronization
import TestSupport
import Testing

/// The I/O shell on real loopback sockets: two pools on one event loop.
@Suite struct GossipPoolTests {
    /// Holds loop-confined objects; only touched from the loop thread.
    final class Box: @unchecked Sendable {
        var pools: [GossipPool] = []
    }

    @Test func joinAnswersWithTheSeedStateAndBothSeeEachOther() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let outcome = Mutex<(ok: Int, errors: [String])?>(nil)
        let views = Mutex<[Int]>([])
        let started = Mutex<String?>(nil)
        loop.execute {
            // Two free ports on addresses no other test uses.
            for octet in UInt8(1)...60 where box.pools.count < 2 {
                guard let bind = Endpoint(ip: "127.0.61.\(octet)", port: 18301) else { continue }
                if let pool = try? GossipPool(label: "lan", name: "p\(box.pools.count)", bind: bind, advertise: bind,
                                              meta: [], settings: .local, loop: loop) {
                    box.pools.append(pool)
                }
            }
            guard box.pools.count == 2 else { return started.withLock { $0 = "no free loopback ports" } }
            started.withLock { $0 = "ok" }
            box.pools[1].join([box.pools[0].instance.address]) { ok, errors in
                outcome.withLock { $0 = (ok, errors) }
            }
        }
        #expect(waitUntil { started.withLock { $0 != nil } })
        try #require(started.withLock { $0 } == "ok")
        #expect(waitUntil { outcome.withLock { $0 != nil } })
        let result = outcome.withLock { $0 }
        #expect(result?.ok == 1, "join reported: \(String(describing: result))")
        #expect(result?.errors.isEmpty == true)
        let converged = waitUntil {
            loop.execute { views.withLock { $0 = box.pools.map { $0.instance.liveMemberCount } } }
            return views.withLock { $0 } == [2, 2]
        }
        #expect(converged)
        loop.execute { box.pools.forEach { $0.shutdown() } }
        usleep(50_000)
    }

    /// Strangers that open push/pull streams announcing 60 MiB frames and
    /// then trickle: two fit the 128 MiB budget for frames being received,
    /// the third is closed at once and counted (before, each of 128 such
    /// streams could have buffered its 64 MiB).
    @Test func pushPullFramesBeingReceivedShareOneMemoryBudget() throws {
        let loop = try EventLoop.startThread()
        defer { loop.stop() }
        let box = Box()
        let bound = Mutex<Endpoint?>(nil)
        loop.execute {
            for octet in UInt8(61)...120 where box.pools.isEmpty {
                guard let bind = Endpoint(ip: "127.0.61.\(octet)", port: 18301) else { continue }
                if let pool = try? GossipPool(label: "lan", name: "budget", bind: bind, advertise: bind,
                                              meta: [], settings: .local, loop: loop) {
                    box.pools.append(pool)
                    bound.withLock { $0 = bind }
                }
            }
        }
        #expect(waitUntil { bound.withLock { $0 } != nil })
        let endpoint = try #require(bound.withLock { $0 })
        let announced = UInt32(60 << 20)
        let header: [UInt8] = [UInt8(announced >> 24), UInt8((announced >> 16) & 0xff), UInt8((announced >> 8) & 0xff),
                               UInt8(announced & 0xff), 0x01, 0x02]
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<3 {
            let fd = connectTCP(endpoint.ip, endpoint.port)
            #expect(fd >= 0)
            _ = header.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            fds.append(fd)
            // One at a time, so which one is refused is known.
            let counted = fds.count
            #expect(waitUntil { loop.sync { box.pools[0].exchanges } == min(counted, 2) || counted == 3 })
        }
        #expect(waitUntil { loop.sync { box.pools[0].exchangesOverBudget } == 1 })
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fds[2], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        #expect(recv(fds[2], &byte, 1, 0) == 0, "the stream past the budget is closed")
        #expect(loop.sync { box.pools[0].exchanges } == 2, "the two that fit are still open")
        loop.execute { box.pools.forEach { $0.shutdown() } }
        usleep(50_000)
    }
}
