// KV writes as the Raft log carries them (KVCommand), applied to a store;
// and the store's snapshot as a follower receives it from the leader.
@testable import KVCore
import Primitives

func fuzz(_ bytes: [UInt8]) {
    if let command = try? KVCommand.decode(bytes) {
        fuzzRoundTrip(command, "KV command", encode: { $0.encode() }, decode: KVCommand.decode)
        var store = KVStore()
        store.apply(.createSession(.init(id: "s", node: "n")), at: 1)
        store.apply(command, at: 2)
        fuzzRequire((try? KVStore.decode(store.encode())) == store, "a store after a command does not survive its snapshot")
    }
    if let store = try? KVStore.decode(bytes) {
        fuzzRoundTrip(store, "KV snapshot", encode: { $0.encode() }, decode: KVStore.decode)
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let commands: [KVCommand] = [
        .set(key: "web/config", value: Array("{\"a\":1}".utf8), flags: 42),
        .checkAndSet(key: "k", value: [1], flags: 0, index: 0),
        .delete(key: "k"), .deleteCheckAndSet(key: "k", index: 3), .deleteTree(prefix: "app/"),
        .acquire(key: "lock", value: [], flags: 0, session: "s"), .release(key: "lock", value: [], flags: 0, session: "s"),
        .createSession(.init(id: "s2", node: "n", deletesLocks: true)), .destroySession(id: "s"),
    ]
    var store = KVStore()
    for (i, c) in commands.enumerated() { store.apply(c, at: UInt64(i + 1)) }
    return commands.map { $0.encode() } + [store.encode()]
}
