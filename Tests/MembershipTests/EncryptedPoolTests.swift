import Crypto
import Dispatch
import Glibc
import Membership
import Sockets
import Synchronization
import TestSupport
import Testing

/// Encrypted pools on real loopback sockets, in one process: who can join
/// whom, keyring operations across the pool, and a member that missed a
/// rotation. (Real agents: IntegrationTests' EncryptionTests.)
@Suite(.serialized) struct EncryptedPoolTests {
    /// Pools on one event loop; every call hops onto it and waits.
    final class Lab: @unchecked Sendable {
        let loop: EventLoop
        var pools: [GossipPool] = []
        private var next: UInt8 = 1
        let block: UInt8

        init(block: UInt8) throws {
            self.block = block
            loop = try EventLoop.startThread()
        }

        func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
            let result = Mutex<T?>(nil)
            let done = DispatchSemaphore(value: 0)
            loop.execute {
                result.withLock { $0 = body() }
                done.signal()
            }
            done.wait()
            return result.withLock { $0! }
        }

        /// A new pool on the next free 127.0.<block>.x address.
        func add(_ encryption: GossipEncryption) -> Int? {
            onLoop { [self] in
                while next < 250 {
                    let ip = "127.0.\(block).\(next)"
                    next += 1
                    guard let bind = Endpoint(ip: ip, port: 18301),
                          let pool = try? GossipPool(label: "lan", name: "p\(pools.count)", bind: bind, advertise: bind, meta: [],
                                                     settings: .local, encryption: encryption, loop: loop) else { continue }
                    pools.append(pool)
                    return pools.count - 1
                }
                return nil
            }
        }

        /// Joins pool `i` through pool `seed`; the join's error texts.
        func join(_ i: Int, through seed: Int) -> (ok: Int, errors: [String]) {
            let outcome = Mutex<(Int, [String])?>(nil)
            loop.execute { [self] in
                pools[i].join([pools[seed].instance.address]) { ok, errors in outcome.withLock { $0 = (ok, errors) } }
            }
            _ = waitUntil(30) { outcome.withLock { $0 != nil } }
            return outcome.withLock { $0 } ?? (0, ["no answer"])
        }

        func liveNames(_ i: Int) -> [String] {
            onLoop { [self] in pools[i].members.filter { $0.status == .alive }.map(\.name).sorted() }
        }

        func keyring(_ i: Int) -> Keyring? { onLoop { [self] in pools[i].encryption.keyring } }
        func refused(_ i: Int) -> [String: Int] { onLoop { [self] in pools[i].refusedMessages } }

        func operate(_ i: Int, _ op: Keyring.Operation?) -> Result<GossipPool.KeyringReport, KeyringError>? {
            let outcome = Mutex<Result<GossipPool.KeyringReport, KeyringError>?>(nil)
            loop.execute { [self] in
                pools[i].keyring(op, version: UInt64(Instant.monotonicNow().nanoseconds)) { r in outcome.withLock { $0 = r } }
            }
            _ = waitUntil(30) { outcome.withLock { $0 != nil } }
            return outcome.withLock { $0 }
        }

        func shutdown(_ i: Int) { onLoop { [self] in pools[i].shutdown() } }

        func close() {
            onLoop { [self] in pools.forEach { $0.shutdown() } }
            loop.stop()
        }
    }

    static func key(_ byte: UInt8) -> AESGCM.Key { AESGCM.Key([UInt8](repeating: byte, count: 32))! }
    static func on(_ keys: AESGCM.Key...) -> GossipEncryption { GossipEncryption(keyring: Keyring(keys: keys)) }

    @Test("members with one key converge; one with another key can neither join nor be listed, and both sides count the refusals")
    func wrongKeyIsShutOut() throws {
        let lab = try Lab(block: 62)
        defer { lab.close() }
        let good = Self.key(1), bad = Self.key(2)
        for _ in 0..<3 { try #require(lab.add(Self.on(good)) != nil) }
        #expect(lab.join(1, through: 0).ok == 1)
        #expect(lab.join(2, through: 0).ok == 1)
        #expect(waitUntil { (0..<3).allSatisfy { lab.liveNames($0) == ["p0", "p1", "p2"] } })
        let stranger = try #require(lab.add(Self.on(bad)))
        let joined = lab.join(stranger, through: 0)
        #expect(joined.ok == 0)
        #expect(joined.errors.first?.contains("no installed key opens it") == true, "\(joined.errors)")
        // A plaintext stranger fares no better.
        let plain = try #require(lab.add(.off))
        let plainJoin = lab.join(plain, through: 1)
        #expect(plainJoin.ok == 0 && plainJoin.errors.first?.contains("requires encryption") == true, "\(plainJoin.errors)")
        usleep(1_500_000)
        for i in 0..<3 { #expect(lab.liveNames(i) == ["p0", "p1", "p2"]) }
        #expect(lab.liveNames(stranger) == ["p3"])
        #expect(lab.liveNames(plain) == ["p4"])
        #expect((lab.refused(0)["wrong_key"] ?? 0) > 0)
        #expect((lab.refused(1)["plaintext"] ?? 0) > 0)
    }

    @Test("install, use, remove across the pool with counts; a member that missed the change learns it on rejoin, and after the old key is gone is told why it cannot join")
    func rotation() throws {
        let lab = try Lab(block: 63)
        defer { lab.close() }
        let k1 = Self.key(1), k2 = Self.key(2)
        for _ in 0..<3 { try #require(lab.add(Self.on(k1)) != nil) }
        #expect(lab.join(1, through: 0).ok == 1 && lab.join(2, through: 0).ok == 1)
        #expect(waitUntil { (0..<3).allSatisfy { lab.liveNames($0).count == 3 } })
        let t1 = Keyring.text(k1), t2 = Keyring.text(k2)

        let installed = try #require(try lab.operate(0, .install(k2))?.get())
        #expect(installed.numNodes == 3 && installed.keys == [t1: 3, t2: 3] && installed.messages.isEmpty)
        let used = try #require(try lab.operate(1, .use(k2))?.get())
        #expect(used.primaryKeys == [t2: 3])
        #expect(throws: KeyringError("Removing the primary key is not allowed")) { try lab.operate(2, .remove(k2))?.get() }

        // p3 was away: it holds k1 only, which the pool still has.
        let late = try #require(lab.add(Self.on(k1)))
        #expect(lab.join(late, through: 2).ok == 1)
        #expect(lab.keyring(late)?.primary == k2)
        #expect(waitUntil { lab.liveNames(0).count == 4 })

        let removed = try #require(try lab.operate(0, .remove(k1))?.get())
        #expect(removed.keys == [t2: 4] && removed.numNodes == 4)
        for i in 0..<4 { #expect(lab.keyring(i)?.keys == [k2]) }
        let listed = try #require(try lab.operate(3, nil)?.get())
        #expect(listed.keys == [t2: 4] && listed.primaryKeys == [t2: 4])

        // k1 is gone everywhere: a member still on k1 is told why.
        let stale = try #require(lab.add(Self.on(k1)))
        let refused = lab.join(stale, through: 1)
        #expect(refused.ok == 0 && refused.errors.first?.contains("keyring was rotated") == true, "\(refused.errors)")
    }

    @Test("the rolling steps: each neighbouring pair of settings talks, plaintext to encrypted-with-verify-off included")
    func rollingPairs() throws {
        let lab = try Lab(block: 64)
        defer { lab.close() }
        let k = Self.key(5)
        let steps: [GossipEncryption] = [
            .off,
            GossipEncryption(keyring: Keyring(keys: [k]), verifyIncoming: false, verifyOutgoing: false),
            GossipEncryption(keyring: Keyring(keys: [k]), verifyIncoming: false, verifyOutgoing: true),
            GossipEncryption(keyring: Keyring(keys: [k]), verifyIncoming: true, verifyOutgoing: true),
        ]
        for pair in 0..<3 {
            let a = try #require(lab.add(steps[pair])), b = try #require(lab.add(steps[pair + 1]))
            #expect(lab.join(b, through: a).ok == 1, "step \(pair) to \(pair + 1)")
            #expect(waitUntil { lab.liveNames(a).count == 2 && lab.liveNames(b).count == 2 }, "step \(pair) to \(pair + 1)")
            lab.shutdown(a)
            lab.shutdown(b)
        }
    }
}
