import Primitives

/// What a KV write asks of the store, as the Raft log carries it.
public enum KVCommand: Sendable, Equatable {
    case set(key: String, value: [UInt8], flags: UInt64)
    /// `?cas=N`: 0 creates only; otherwise only at ModifyIndex N.
    case checkAndSet(key: String, value: [UInt8], flags: UInt64, index: UInt64)
    case delete(key: String)
    case deleteCheckAndSet(key: String, index: UInt64)
    /// `?recurse`: every key under the prefix.
    case deleteTree(prefix: String)
    case acquire(key: String, value: [UInt8], flags: UInt64, session: String)
    case release(key: String, value: [UInt8], flags: UInt64, session: String)
    case createSession(KVStore.Session)
    case destroySession(id: String)

    /// Consul's limit on a value (512 KB), and on a key (it bounds them by
    /// the request; 64 KiB here, the codec's string limit).
    public static let maxValueBytes = 512 * 1024
    public static let maxKeyBytes = 65_535

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        switch self {
        case .set(let key, let value, let flags):
            w.u8(1); w.string16(key); w.blob32(value); w.u64(flags)
        case .checkAndSet(let key, let value, let flags, let index):
            w.u8(2); w.string16(key); w.blob32(value); w.u64(flags); w.u64(index)
        case .delete(let key):
            w.u8(3); w.string16(key)
        case .deleteCheckAndSet(let key, let index):
            w.u8(4); w.string16(key); w.u64(index)
        case .deleteTree(let prefix):
            w.u8(5); w.string16(prefix)
        case .acquire(let key, let value, let flags, let session):
            w.u8(6); w.string16(key); w.blob32(value); w.u64(flags); w.string16(session)
        case .release(let key, let value, let flags, let session):
            w.u8(7); w.string16(key); w.blob32(value); w.u64(flags); w.string16(session)
        case .createSession(let s):
            w.u8(8); w.string16(s.id); w.string16(s.node); w.u8(s.deletesLocks ? 1 : 0)
        case .destroySession(let id):
            w.u8(9); w.string16(id)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> KVCommand {
        var r = ByteReader(bytes)
        guard try r.u8() == 1 else { throw .invalid("unknown KV command format") }
        func value() throws(DecodeError) -> [UInt8] {
            let v = try r.blob32()
            guard v.count <= maxValueBytes else { throw .invalid("value of \(v.count) bytes exceeds \(maxValueBytes)") }
            return v
        }
        let command: KVCommand
        switch try r.u8() {
        case 1: command = .set(key: try r.string16(), value: try value(), flags: try r.u64())
        case 2: command = .checkAndSet(key: try r.string16(), value: try value(), flags: try r.u64(), index: try r.u64())
        case 3: command = .delete(key: try r.string16())
        case 4: command = .deleteCheckAndSet(key: try r.string16(), index: try r.u64())
        case 5: command = .deleteTree(prefix: try r.string16())
        case 6: command = .acquire(key: try r.string16(), value: try value(), flags: try r.u64(), session: try r.string16())
        case 7: command = .release(key: try r.string16(), value: try value(), flags: try r.u64(), session: try r.string16())
        case 8:
            let id = try r.string16(), node = try r.string16()
            let behavior = try r.u8()
            guard behavior <= 1 else { throw .invalid("unknown session behavior \(behavior)") }
            command = .createSession(KVStore.Session(id: id, node: node, deletesLocks: behavior == 1))
        case 9: command = .destroySession(id: try r.string16())
        case let kind: throw .invalid("unknown KV command \(kind)")
        }
        guard r.isAtEnd else { throw .invalid("trailing bytes after a KV command") }
        return command
    }
}
