import Primitives
import RaftCore
import Testing

/// One `Raft.Node` fed messages by hand, as a stranger or a faulty peer would send them.
@Suite struct NodeTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)

    static func follower() -> Raft.Node {
        var node = Raft.Node(id: "s1", settings: .fast, now: t0, seed: 1)
        var out: [Raft.Output] = []
        node.bootstrap(voters: ["s1", "s2", "s3"], into: &out)
        return node
    }

    /// An append that would replace a committed entry is refused: the
    /// log, the commit index and the state machine's input stay as they were.
    @Test func anAppendConflictingWithCommittedEntriesIsRefusedAndChangesNothing() throws {
        var node = Self.follower()
        var out: [Raft.Output] = []
        let entries = [Raft.Entry(term: 2, index: 2, kind: .noop), Raft.Entry(term: 2, index: 3, kind: .command([7]))]
        node.receive(Raft.Message(term: 2, body: .append(prevIndex: 1, prevTerm: 1, entries: entries, commit: 3, sequence: 1)),
                     from: "s2", now: Self.t0, into: &out)
        #expect(node.commitIndex == 3)
        let before = node.log
        out.removeAll()
        let forged = [Raft.Entry(term: 3, index: 2, kind: .command([6, 6, 6]))]
        node.receive(Raft.Message(term: 3, body: .append(prevIndex: 1, prevTerm: 1, entries: forged, commit: 2, sequence: 1)),
                     from: "s3", now: Self.t0, into: &out)
        #expect(node.log == before, "no committed entry replaced")
        #expect(node.commitIndex == 3)
        #expect(!out.contains { if case .truncateLog = $0 { true } else { false } })
        #expect(!out.contains { if case .apply = $0 { true } else { false } })
        #expect(out.contains(.send(to: "s3", Raft.Message(term: 3, body: .appendReply(success: false, index: 4, sequence: 1)))))
    }
}
