import Primitives

extension Raft {
    /// What a server keeps of Raft on disk: its hard state, its latest
    /// snapshot and the log after it. The core's persistent outputs are
    /// turned into journal records (`record(for:)`), applied in order to
    /// the last whole copy (`encode`) when the server starts again
    /// (`restore`). Pure: the shell writes the bytes (group commit).
    public struct DurableState: Sendable, Equatable {
        public var hard = HardState()
        public var snapshot: Snapshot?
        public var entries: [Entry] = []

        public init() {}

        enum Record: UInt8 {
            case hardState = 1, truncate = 2, append = 3, snapshot = 4
        }

        /// Takes one output; for the persistent ones, returns the journal
        /// record that makes it durable (nil for the rest).
        public mutating func record(for output: Output) -> [UInt8]? {
            var w = ByteWriter()
            switch output {
            case .saveHardState(let h):
                hard = h
                w.u8(Record.hardState.rawValue); Self.encode(h, &w)
            case .truncateLog(let after):
                entries.removeAll { $0.index > after }
                w.u8(Record.truncate.rawValue); w.u64(after)
            case .appendLog(let appended):
                entries.append(contentsOf: appended)
                w.u8(Record.append.rawValue); w.u32(UInt32(appended.count))
                for e in appended { MessageCodec.encode(e, &w) }
            case .installSnapshot(let s):
                take(s)
                w.u8(Record.snapshot.rawValue); Self.encode(s, &w)
            case .send, .apply, .readReady, .readFailed, .roleChanged:
                return nil
            }
            return w.bytes
        }

        /// A snapshot the shell took itself (`Node.compact`), or one from
        /// the leader: the log it covers goes.
        public mutating func take(_ s: Snapshot) {
            snapshot = s
            entries.removeAll { $0.index <= s.index }
        }

        /// The journal record of a snapshot the shell took.
        public static func snapshotRecord(_ s: Snapshot) -> [UInt8] {
            var w = ByteWriter()
            w.u8(Record.snapshot.rawValue); encode(s, &w)
            return w.bytes
        }

        /// The whole state, for the data directory's snapshot file.
        public func encode() -> [UInt8] {
            var w = ByteWriter()
            w.u8(1)
            Self.encode(hard, &w)
            if let snapshot { w.u8(1); Self.encode(snapshot, &w) } else { w.u8(0) }
            w.u32(UInt32(entries.count))
            for e in entries { MessageCodec.encode(e, &w) }
            return w.bytes
        }

        /// The state from the whole copy (nil: none yet) and the journal
        /// records written after it, in order.
        public static func restore(whole: [UInt8]?, journal: [[UInt8]]) throws(DecodeError) -> DurableState {
            var state = DurableState()
            if let whole {
                var r = ByteReader(whole)
                guard try r.u8() == 1 else { throw .invalid("unknown Raft state format") }
                state.hard = try decodeHard(&r)
                if try r.u8() == 1 { state.snapshot = try decodeSnapshot(&r) }
                let count = Int(try r.u32())
                guard count <= r.remaining / 17 else { throw .invalid("entry count exceeds the Raft state") }
                for _ in 0..<count { state.entries.append(try MessageCodec.decodeEntry(&r)) }
                guard r.isAtEnd else { throw .invalid("trailing bytes after the Raft state") }
            }
            for bytes in journal {
                var r = ByteReader(bytes)
                switch Record(rawValue: try r.u8()) {
                case .hardState: state.hard = try decodeHard(&r)
                case .truncate:
                    let after = try r.u64()
                    state.entries.removeAll { $0.index > after }
                case .append:
                    let count = Int(try r.u32())
                    guard count <= r.remaining / 17 else { throw .invalid("entry count exceeds a journal record") }
                    for _ in 0..<count { state.entries.append(try MessageCodec.decodeEntry(&r)) }
                case .snapshot: state.take(try decodeSnapshot(&r))
                case nil: throw .invalid("unknown Raft journal record")
                }
                guard r.isAtEnd else { throw .invalid("trailing bytes after a Raft journal record") }
            }
            // The log must follow the snapshot one index at a time.
            var next = (state.snapshot?.index ?? 0) + 1
            for e in state.entries {
                guard e.index == next else { throw .invalid("log entry \(e.index) where \(next) was expected") }
                next += 1
            }
            return state
        }

        static func encode(_ h: HardState, _ w: inout ByteWriter) {
            w.u64(h.term); w.string16(h.votedFor ?? "")
        }

        static func decodeHard(_ r: inout ByteReader) throws(DecodeError) -> HardState {
            let term = try r.u64(), voted = try r.string16()
            return HardState(term: term, votedFor: voted.isEmpty ? nil : voted)
        }

        static func encode(_ s: Snapshot, _ w: inout ByteWriter) {
            w.u64(s.index); w.u64(s.term); MessageCodec.voters(s.voters, &w); w.blob32(s.data)
        }

        static func decodeSnapshot(_ r: inout ByteReader) throws(DecodeError) -> Snapshot {
            let index = try r.u64(), term = try r.u64(), voters = try MessageCodec.decodeVoters(&r)
            return Snapshot(index: index, term: term, voters: voters, data: try r.blob32())
        }
    }
}
