import Primitives

extension Raft {
    /// Binary encoding of Raft messages for the server port. Decoding is
    /// total: any bytes give a message or an error; every count is checked
    /// against the bytes left before anything is reserved, and the limits
    /// bound what one message may hold.
    public enum MessageCodec {
        static let format: UInt8 = 1
        /// Entries in one append (the leader sends at most
        /// `Settings.maxEntriesPerAppend`; this is what a server accepts).
        public static let maxEntries = 4096
        /// Voters in a configuration.
        public static let maxVoters = 64

        public static func encode(_ m: Message) -> [UInt8] {
            var w = ByteWriter()
            w.u8(format)
            w.u64(m.term)
            switch m.body {
            case .preVote(let lastIndex, let lastTerm):
                w.u8(1); w.u64(lastIndex); w.u64(lastTerm)
            case .preVoteReply(let granted):
                w.u8(2); w.u8(granted ? 1 : 0)
            case .vote(let lastIndex, let lastTerm):
                w.u8(3); w.u64(lastIndex); w.u64(lastTerm)
            case .voteReply(let granted):
                w.u8(4); w.u8(granted ? 1 : 0)
            case .append(let prevIndex, let prevTerm, let entries, let commit, let sequence):
                w.u8(5); w.u64(prevIndex); w.u64(prevTerm); w.u64(commit); w.u64(sequence)
                w.u32(UInt32(entries.count))
                for entry in entries { encode(entry, &w) }
            case .appendReply(let success, let index, let sequence):
                w.u8(6); w.u8(success ? 1 : 0); w.u64(index); w.u64(sequence)
            case .installSnapshot(let snapshot, let sequence):
                w.u8(7); w.u64(sequence); w.u64(snapshot.index); w.u64(snapshot.term)
                voters(snapshot.voters, &w)
                w.blob32(snapshot.data)
            }
            return w.bytes
        }

        public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Message {
            var r = ByteReader(bytes)
            guard try r.u8() == format else { throw .invalid("unknown Raft message format") }
            let term = try r.u64()
            let body: Message.Body
            switch try r.u8() {
            case 1: body = .preVote(lastIndex: try r.u64(), lastTerm: try r.u64())
            case 2: body = .preVoteReply(granted: try flag(&r))
            case 3: body = .vote(lastIndex: try r.u64(), lastTerm: try r.u64())
            case 4: body = .voteReply(granted: try flag(&r))
            case 5:
                let prevIndex = try r.u64(), prevTerm = try r.u64(), commit = try r.u64(), sequence = try r.u64()
                let count = Int(try r.u32())
                // An entry takes at least 17 bytes.
                guard count <= maxEntries, count <= r.remaining / 17 else { throw .invalid("entry count \(count) exceeds the message") }
                var entries: [Entry] = []
                entries.reserveCapacity(count)
                for i in 0..<count {
                    let entry = try decodeEntry(&r)
                    // Entries follow prevIndex one by one: anything else is not an append.
                    guard entry.index == prevIndex &+ UInt64(i) &+ 1, entry.index > prevIndex else {
                        throw .invalid("entry \(entry.index) out of sequence after \(prevIndex)")
                    }
                    entries.append(entry)
                }
                body = .append(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit, sequence: sequence)
            case 6:
                body = .appendReply(success: try flag(&r), index: try r.u64(), sequence: try r.u64())
            case 7:
                let sequence = try r.u64(), index = try r.u64(), snapshotTerm = try r.u64()
                let voters = try decodeVoters(&r)
                body = .installSnapshot(Snapshot(index: index, term: snapshotTerm, voters: voters, data: try r.blob32()),
                                        sequence: sequence)
            case let kind: throw .invalid("unknown Raft message kind \(kind)")
            }
            guard r.isAtEnd else { throw .invalid("trailing bytes after a Raft message") }
            return Message(term: term, body: body)
        }

        static func encode(_ e: Entry, _ w: inout ByteWriter) {
            w.u64(e.term); w.u64(e.index)
            switch e.kind {
            case .noop: w.u8(0)
            case .command(let bytes): w.u8(1); w.blob32(bytes)
            case .configuration(let v): w.u8(2); voters(v, &w)
            }
        }

        static func decodeEntry(_ r: inout ByteReader) throws(DecodeError) -> Entry {
            let term = try r.u64(), index = try r.u64()
            switch try r.u8() {
            case 0: return Entry(term: term, index: index, kind: .noop)
            case 1: return Entry(term: term, index: index, kind: .command(try r.blob32()))
            case 2: return Entry(term: term, index: index, kind: .configuration(try decodeVoters(&r)))
            case let kind: throw .invalid("unknown entry kind \(kind)")
            }
        }

        /// The durable log's entry format is the same as the wire's.
        public static func encode(_ e: Entry) -> [UInt8] {
            var w = ByteWriter()
            encode(e, &w)
            return w.bytes
        }

        public static func decodeEntry(_ bytes: [UInt8]) throws(DecodeError) -> Entry {
            var r = ByteReader(bytes)
            let entry = try decodeEntry(&r)
            guard r.isAtEnd else { throw .invalid("trailing bytes after a log entry") }
            return entry
        }

        static func voters(_ v: [ServerID], _ w: inout ByteWriter) {
            w.u8(UInt8(min(v.count, maxVoters)))
            for id in v.prefix(maxVoters) { w.string16(id) }
        }

        static func decodeVoters(_ r: inout ByteReader) throws(DecodeError) -> [ServerID] {
            let count = Int(try r.u8())
            guard count <= maxVoters else { throw .invalid("\(count) voters, at most \(maxVoters)") }
            var voters: [ServerID] = []
            for _ in 0..<count {
                let id = try r.string16()
                guard !id.isEmpty, !voters.contains(id) else { throw .invalid("an empty or repeated voter") }
                voters.append(id)
            }
            return voters
        }

        static func flag(_ r: inout ByteReader) throws(DecodeError) -> Bool {
            switch try r.u8() {
            case 0: return false
            case 1: return true
            case let v: throw .invalid("flag \(v) is neither 0 nor 1")
            }
        }
    }
}
