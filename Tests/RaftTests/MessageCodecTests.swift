import Primitives
@testable import RaftCore
import Testing

/// The Raft messages' wire form: every kind round-trips; bytes from a
/// stranger are an error, never a trap or a huge allocation.
@Suite struct MessageCodecTests {
    // Computed: LeakSanitizer cannot see through a static array of these (a false leak).
    static var messages: [Raft.Message] { [
        .init(term: 3, body: .preVote(lastIndex: 10, lastTerm: 2)),
        .init(term: 3, body: .preVoteReply(granted: true)),
        .init(term: 4, body: .vote(lastIndex: 10, lastTerm: 2)),
        .init(term: 4, body: .voteReply(granted: false)),
        .init(term: 4, body: .append(prevIndex: 10, prevTerm: 2, entries: [
            .init(term: 4, index: 11, kind: .noop),
            .init(term: 4, index: 12, kind: .command(Array("put a=1".utf8))),
            .init(term: 4, index: 13, kind: .configuration(["s1", "s2", "s3"])),
        ], commit: 10, sequence: 99)),
        .init(term: 4, body: .appendReply(success: true, index: 13, sequence: 99)),
        .init(term: 5, body: .installSnapshot(.init(index: 40, term: 4, voters: ["s1", "s2"], data: [1, 2, 3]), sequence: 7)),
    ] }

    @Test func everyKindRoundTrips() throws {
        for m in Self.messages { #expect(try Raft.MessageCodec.decode(Raft.MessageCodec.encode(m)) == m) }
        let entry = Raft.Entry(term: 2, index: 9, kind: .command([0, 255]))
        #expect(try Raft.MessageCodec.decodeEntry(Raft.MessageCodec.encode(entry)) == entry)
    }

    @Test func malformedMessagesAreErrors() throws {
        #expect(throws: DecodeError.self) { try Raft.MessageCodec.decode([]) }
        #expect(throws: DecodeError.self) { try Raft.MessageCodec.decode([2] + [UInt8](repeating: 0, count: 9)) }
        // An append claiming 4 billion entries is refused before any allocation.
        var huge = ByteWriter()
        huge.u8(1); huge.u64(1); huge.u8(5); for _ in 0..<4 { huge.u64(0) }; huge.u32(.max)
        #expect(throws: DecodeError.self) { try Raft.MessageCodec.decode(huge.bytes) }
        // Entries out of sequence after prevIndex are not an append.
        let gap = Raft.Message(term: 1, body: .append(prevIndex: 5, prevTerm: 1, entries: [.init(term: 1, index: 7, kind: .noop)],
                                                     commit: 0, sequence: 0))
        #expect(throws: DecodeError.self) { try Raft.MessageCodec.decode(Raft.MessageCodec.encode(gap)) }
        let repeated = Raft.Message(term: 1, body: .installSnapshot(.init(index: 1, term: 1, voters: ["a", "a"], data: []), sequence: 0))
        #expect(throws: DecodeError.self) { try Raft.MessageCodec.decode(Raft.MessageCodec.encode(repeated)) }
        var rng = SeededRandom(seed: 4)
        var rejected = 0
        for _ in 0..<20_000 {
            var bytes = Raft.MessageCodec.encode(Self.messages[Int(rng.next() % UInt64(Self.messages.count))])
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                if rng.next() % 2 == 0 { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) } else { bytes.remove(at: at) }
            }
            if let m = try? Raft.MessageCodec.decode(bytes) {
                #expect(try Raft.MessageCodec.decode(Raft.MessageCodec.encode(m)) == m, "what decodes re-encodes the same")
            } else {
                rejected += 1
            }
        }
        #expect(rejected > 10_000)
    }
}
