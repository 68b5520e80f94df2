// Raft messages as the server port carries them between servers
// (Raft.MessageCodec), and log entries as the durable log keeps them.
@testable import RaftCore
import Primitives

func fuzz(_ bytes: [UInt8]) {
    if let message = try? Raft.MessageCodec.decode(bytes) {
        fuzzRoundTrip(message, "Raft message", encode: Raft.MessageCodec.encode, decode: Raft.MessageCodec.decode)
    }
    if let entry = try? Raft.MessageCodec.decodeEntry(bytes) {
        fuzzRoundTrip(entry, "log entry", encode: Raft.MessageCodec.encode, decode: Raft.MessageCodec.decodeEntry)
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let messages: [Raft.Message] = [
        .init(term: 3, body: .preVote(lastIndex: 10, lastTerm: 2)),
        .init(term: 3, body: .preVoteReply(granted: true)),
        .init(term: 4, body: .vote(lastIndex: 10, lastTerm: 2)),
        .init(term: 4, body: .voteReply(granted: false)),
        .init(term: 4, body: .append(prevIndex: 10, prevTerm: 2, entries: [
            .init(term: 4, index: 11, kind: .noop),
            .init(term: 4, index: 12, kind: .command(Array("put a=1".utf8))),
            .init(term: 4, index: 13, kind: .configuration(["s1", "s2", "s3"])),
        ], commit: 10, sequence: 99)),
        .init(term: 4, body: .appendReply(success: false, index: 11, sequence: 99)),
        .init(term: 5, body: .installSnapshot(.init(index: 40, term: 4, voters: ["s1", "s2"], data: [1, 2, 3]), sequence: 7)),
    ]
    return messages.map(Raft.MessageCodec.encode) + [Raft.MessageCodec.encode(Raft.Entry(term: 1, index: 1, kind: .configuration(["s1"])))]
}
