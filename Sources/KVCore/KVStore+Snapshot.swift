import Primitives

/// The whole store as a Raft snapshot carries it (sorted, so every server
/// writes the same bytes for the same store).
extension KVStore {
    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.u64(index)
        w.u32(UInt32(pairs.count))
        for pair in pairs.values.sorted(by: { $0.key < $1.key }) {
            w.string16(pair.key); w.u64(pair.flags); w.blob32(pair.value)
            w.u64(pair.createIndex); w.u64(pair.modifyIndex); w.u64(pair.lockIndex); w.string16(pair.session)
        }
        w.u32(UInt32(tombstones.count))
        for (key, at) in tombstones.sorted(by: { $0.key < $1.key }) { w.string16(key); w.u64(at) }
        w.u32(UInt32(sessions.count))
        for s in sessions.values.sorted(by: { $0.id < $1.id }) {
            w.string16(s.id); w.string16(s.node); w.u8(s.deletesLocks ? 1 : 0); w.u64(s.createIndex)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> KVStore {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw .invalid("unknown KV snapshot format") }
        var store = KVStore()
        store.index = try r.u64()
        // Each count is bounded by the bytes left (a pair takes at least 38).
        let pairCount = Int(try r.u32())
        guard pairCount <= r.remaining / 38 else { throw .invalid("pair count exceeds the snapshot") }
        for _ in 0..<pairCount {
            let key = try r.string16(), flags = try r.u64(), value = try r.blob32()
            let pair = Pair(key: key, flags: flags, value: value, createIndex: try r.u64(), modifyIndex: try r.u64(),
                            lockIndex: try r.u64(), session: try r.string16())
            store.pairs[key] = pair
        }
        let tombstoneCount = Int(try r.u32())
        guard tombstoneCount <= r.remaining / 10 else { throw .invalid("tombstone count exceeds the snapshot") }
        for _ in 0..<tombstoneCount { store.tombstones[try r.string16()] = try r.u64() }
        let sessionCount = Int(try r.u32())
        guard sessionCount <= r.remaining / 13 else { throw .invalid("session count exceeds the snapshot") }
        for _ in 0..<sessionCount {
            let id = try r.string16(), node = try r.string16()
            let behavior = try r.u8()
            guard behavior <= 1 else { throw .invalid("unknown session behavior \(behavior)") }
            store.sessions[id] = Session(id: id, node: node, deletesLocks: behavior == 1, createIndex: try r.u64())
        }
        guard r.isAtEnd else { throw .invalid("trailing bytes after the KV snapshot") }
        return store
    }
}
