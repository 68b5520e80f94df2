import Primitives

/// What clients ask of the leader: commands, membership changes and
/// consistent reads (read-index, the dissertation's §6.4).
extension Raft.Node {
    public enum ProposalError: Error, Equatable, Sendable {
        /// Not the leader: ask `leader` (nil while unknown).
        case notLeader(leader: Raft.ServerID?)
        /// A configuration change is still uncommitted; one at a time.
        case configurationPending
        /// A change must add or remove exactly one voter.
        case notOneChange
    }

    /// Appends a command; it is applied once committed, at the returned
    /// (index, term). If the entry applied at that index has another
    /// term, the command was lost with a leader and must be retried.
    public mutating func propose(_ command: [UInt8], now: Instant,
                                 into out: inout [Raft.Output]) throws(ProposalError) -> (index: UInt64, term: UInt64) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        let entry = appendAsLeader(.command(command), now: now, into: &out)
        return (entry.index, entry.term)
    }

    /// Changes the voters by one server (added or removed), in effect at
    /// once on every server that appends it (the dissertation's §4.1).
    public mutating func changeVoters(to newVoters: [Raft.ServerID], now: Instant,
                                      into out: inout [Raft.Output]) throws(ProposalError) -> UInt64 {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard log.configurationIndex <= commitIndex else { throw .configurationPending }
        let old = Set(voters), new = Set(newVoters)
        guard old.symmetricDifference(new).count == 1 else { throw .notOneChange }
        return appendAsLeader(.configuration(newVoters.sorted()), now: now, into: &out).index
    }

    /// Asks for a consistent read. The leader notes its commit index (at
    /// least the first entry of its term), confirms with a round of
    /// heartbeats that a majority still follows it, then answers
    /// `readReady(id, index)`: the read sees every write acknowledged
    /// before it once the state machine has applied `index`.
    public mutating func read(id: UInt64, now: Instant, into out: inout [Raft.Output]) {
        guard role == .leader else { return out.append(.readFailed(id: id)) }
        let index = max(commitIndex, termStartIndex)
        pendingReads.append(PendingRead(id: id, index: index, sequence: sequence + 1))
        if quorum == 1 && isVoter {
            confirmReads(into: &out)
        } else {
            broadcastAppends(now, into: &out)
        }
    }

    /// Answers every read whose round a majority has acknowledged.
    mutating func confirmReads(into out: inout [Raft.Output]) {
        guard role == .leader, !pendingReads.isEmpty else { return }
        var confirmed = 0
        for read in pendingReads {
            let acks = voters.filter { $0 == id || (progress[$0]?.acknowledged ?? 0) >= read.sequence }.count
            guard acks >= quorum else { break }
            out.append(.readReady(id: read.id, index: read.index))
            confirmed += 1
        }
        pendingReads.removeFirst(confirmed)
    }
}
