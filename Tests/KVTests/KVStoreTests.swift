import KVCore
import Primitives
import Testing

/// The KV store's semantics, as Consul's state store has them.
@Suite struct KVStoreTests {
    static func v(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func setGetAndTheIndexesOfEachChange() {
        var kv = KVStore()
        kv.apply(.set(key: "web/config", value: Self.v("a"), flags: 42), at: 5)
        kv.apply(.set(key: "web/config", value: Self.v("b"), flags: 42), at: 9)
        let pair = kv.get("web/config")
        #expect(pair?.value == Self.v("b") && pair?.flags == 42)
        #expect(pair?.createIndex == 5 && pair?.modifyIndex == 9)
        #expect(kv.index(prefix: "web/config") == 9)
        #expect(kv.get("missing") == nil)
    }

    @Test func checkAndSetCreatesOnlyAtZeroAndUpdatesOnlyAtTheModifyIndex() {
        var kv = KVStore()
        let r1 = kv.apply(.checkAndSet(key: "k", value: Self.v("1"), flags: 0, index: 0), at: 3)
        #expect(r1)
        let r2 = kv.apply(.checkAndSet(key: "k", value: Self.v("2"), flags: 0, index: 0), at: 4)
        #expect(!r2, "0 creates only")
        let r3 = kv.apply(.checkAndSet(key: "k", value: Self.v("2"), flags: 0, index: 2), at: 5)
        #expect(!r3, "a stale index")
        let r4 = kv.apply(.checkAndSet(key: "k", value: Self.v("2"), flags: 0, index: 3), at: 6)
        #expect(r4)
        #expect(kv.get("k")?.value == Self.v("2"))
        let r5 = kv.apply(.deleteCheckAndSet(key: "k", index: 3), at: 7)
        #expect(!r5, "deleting at a stale index")
        #expect(kv.get("k") != nil)
        let r6 = kv.apply(.deleteCheckAndSet(key: "k", index: 6), at: 8)
        #expect(r6)
        #expect(kv.get("k") == nil)
        let r7 = kv.apply(.deleteCheckAndSet(key: "k", index: 6), at: 9)
        #expect(r7, "a key already gone is a success, as in Consul")
    }

    @Test func keysWithASeparatorListFoldersOnceAndDeletesMoveThePrefixIndex() {
        var kv = KVStore()
        for (i, key) in ["app/db/host", "app/db/port", "app/name", "apple", "other"].enumerated() {
            kv.apply(.set(key: key, value: [], flags: 0), at: UInt64(10 + i))
        }
        #expect(kv.keys(prefix: "app/", separator: "/") == ["app/db/", "app/name"])
        #expect(kv.keys(prefix: "app", separator: nil) == ["app/db/host", "app/db/port", "app/name", "apple"])
        #expect(kv.list(prefix: "app/db/").map(\.key) == ["app/db/host", "app/db/port"])
        #expect(kv.index(prefix: "app/") == 12)
        kv.apply(.deleteTree(prefix: "app/db/"), at: 20)
        #expect(kv.list(prefix: "app/").map(\.key) == ["app/name"])
        #expect(kv.index(prefix: "app/") == 20, "a blocking query on the prefix wakes for the delete")
        #expect(kv.index(prefix: "app/db/host") == 20, "and one on a deleted key")
        kv.reapTombstones(through: 20)
        #expect(kv.tombstones.isEmpty)
        #expect(kv.index(prefix: "nothing/") == 20, "a prefix with no history reads at the store's index")
    }

    @Test func locksAreHeldBySessionsAndReleasedOrDeletedWithThem() {
        var kv = KVStore()
        let r8 = kv.apply(.acquire(key: "lock", value: [], flags: 0, session: "nope"), at: 1)
        #expect(!r8, "no such session")
        kv.apply(.createSession(.init(id: "s1", node: "n1")), at: 2)
        kv.apply(.createSession(.init(id: "s2", node: "n2", deletesLocks: true)), at: 3)
        let r9 = kv.apply(.acquire(key: "lock", value: Self.v("me"), flags: 0, session: "s1"), at: 4)
        #expect(r9)
        #expect(kv.get("lock")?.lockIndex == 1 && kv.get("lock")?.session == "s1")
        let r10 = kv.apply(.acquire(key: "lock", value: [], flags: 0, session: "s2"), at: 5)
        #expect(!r10, "held by another")
        let r11 = kv.apply(.acquire(key: "lock", value: Self.v("again"), flags: 0, session: "s1"), at: 6)
        #expect(r11)
        #expect(kv.get("lock")?.lockIndex == 1, "re-acquiring by the holder does not count")
        let r12 = kv.apply(.release(key: "lock", value: [], flags: 0, session: "s2"), at: 7)
        #expect(!r12)
        let r13 = kv.apply(.release(key: "lock", value: [], flags: 0, session: "s1"), at: 8)
        #expect(r13)
        #expect(kv.get("lock")?.session == "")
        let r14 = kv.apply(.acquire(key: "lock", value: [], flags: 0, session: "s2"), at: 9)
        #expect(r14)
        #expect(kv.get("lock")?.lockIndex == 2)
        kv.apply(.acquire(key: "other", value: [], flags: 0, session: "s1"), at: 10)
        kv.apply(.destroySession(id: "s1"), at: 11)
        #expect(kv.get("other")?.session == "", "release: the lock goes, the key stays")
        #expect(kv.get("other")?.modifyIndex == 11)
        kv.apply(.destroySession(id: "s2"), at: 12)
        #expect(kv.get("lock") == nil, "delete: the locked key goes with its session")
        let r15 = kv.apply(.createSession(.init(id: "s3", node: "n")), at: 13)
        #expect(r15)
        let r16 = kv.apply(.createSession(.init(id: "s3", node: "n")), at: 14)
        #expect(!r16, "an ID in use")
    }

    @Test func theSnapshotAndTheCommandsRoundTripAndBadBytesAreErrors() throws {
        var kv = KVStore()
        kv.apply(.createSession(.init(id: "s1", node: "n1", deletesLocks: true)), at: 1)
        kv.apply(.set(key: "a", value: Self.v("x"), flags: 7), at: 2)
        kv.apply(.acquire(key: "b", value: [0, 255], flags: 0, session: "s1"), at: 3)
        kv.apply(.set(key: "c", value: [], flags: 0), at: 4)
        kv.apply(.delete(key: "c"), at: 5)
        #expect(try KVStore.decode(kv.encode()) == kv)
        let commands: [KVCommand] = [
            .set(key: "k", value: Self.v("v"), flags: 1), .checkAndSet(key: "k", value: [], flags: 0, index: 9),
            .delete(key: "k"), .deleteCheckAndSet(key: "k", index: 3), .deleteTree(prefix: "p/"),
            .acquire(key: "k", value: [], flags: 0, session: "s"), .release(key: "k", value: [1], flags: 2, session: "s"),
            .createSession(.init(id: "s", node: "n", deletesLocks: true)), .destroySession(id: "s"),
        ]
        for c in commands { #expect(try KVCommand.decode(c.encode()) == c) }
        #expect(throws: DecodeError.self) { try KVCommand.decode([]) }
        #expect(throws: DecodeError.self) { try KVCommand.decode(KVCommand.set(key: "k", value: [], flags: 0).encode() + [0]) }
        let huge = KVCommand.set(key: "k", value: [UInt8](repeating: 1, count: KVCommand.maxValueBytes + 1), flags: 0)
        #expect(throws: DecodeError.self) { try KVCommand.decode(huge.encode()) }
        var bomb = ByteWriter()
        bomb.u8(1); bomb.u64(0); bomb.u32(.max)
        #expect(throws: DecodeError.self) { try KVStore.decode(bomb.bytes) }
    }
}
