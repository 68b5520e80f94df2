import Primitives

/// Elections: a pre-vote round first (the dissertation's §9.6), so that a
/// server which cannot win — cut off, or behind — never raises the term;
/// then the vote itself.
extension Raft.Node {
    /// Whether a log ending at (lastIndex, lastTerm) is at least as up to date as ours (§5.4.1).
    func upToDate(lastIndex: UInt64, lastTerm: UInt64) -> Bool {
        lastTerm > log.lastTerm || (lastTerm == log.lastTerm && lastIndex >= log.lastIndex)
    }

    mutating func startPreVote(_ now: Instant, into out: inout [Raft.Output]) {
        resetElectionTimer(now)
        guard isVoter else { return }
        become(.preCandidate, leader: nil, now: now, into: &out)
        votes = [id]
        if votes.count >= quorum { return startElection(now, into: &out) }
        let request = Raft.Message(term: hard.term + 1, body: .preVote(lastIndex: log.lastIndex, lastTerm: log.lastTerm))
        for voter in voters where voter != id { out.append(.send(to: voter, request)) }
    }

    mutating func answerPreVote(_ term: UInt64, lastIndex: UInt64, lastTerm: UInt64, from: Raft.ServerID,
                                now: Instant, into out: inout [Raft.Output]) {
        // Granted only if a real election could be: a newer term, a log as
        // up to date, and no live leader (ours or us).
        let granted = term > hard.term && !leaderIsLive(now) && upToDate(lastIndex: lastIndex, lastTerm: lastTerm)
        out.append(.send(to: from, Raft.Message(term: granted ? term : hard.term, body: .preVoteReply(granted: granted))))
    }

    mutating func receivePreVoteReply(_ term: UInt64, granted: Bool, from: Raft.ServerID, now: Instant,
                                      into out: inout [Raft.Output]) {
        if !granted {
            // Refused by a server in a newer term: we are behind.
            if term > hard.term { adoptTerm(term, now: now, into: &out) }
            return
        }
        guard role == .preCandidate, term == hard.term + 1, voters.contains(from) else { return }
        votes.insert(from)
        if votes.count >= quorum { startElection(now, into: &out) }
    }

    mutating func startElection(_ now: Instant, into out: inout [Raft.Output]) {
        hard = Raft.HardState(term: hard.term + 1, votedFor: id)
        out.append(.saveHardState(hard))
        become(.candidate, leader: nil, now: now, into: &out)
        votes = [id]
        if votes.count >= quorum { return becomeLeader(now, into: &out) }
        let request = Raft.Message(term: hard.term, body: .vote(lastIndex: log.lastIndex, lastTerm: log.lastTerm))
        for voter in voters where voter != id { out.append(.send(to: voter, request)) }
    }

    /// Called with the term already adopted (`message.term <= hard.term`).
    mutating func answerVote(_ term: UInt64, lastIndex: UInt64, lastTerm: UInt64, from: Raft.ServerID,
                             now: Instant, into out: inout [Raft.Output]) {
        var granted = false
        if term == hard.term, hard.votedFor == nil || hard.votedFor == from,
           upToDate(lastIndex: lastIndex, lastTerm: lastTerm) {
            granted = true
            if hard.votedFor == nil {
                hard.votedFor = from
                out.append(.saveHardState(hard))
            }
            resetElectionTimer(now)
        }
        out.append(.send(to: from, Raft.Message(term: hard.term, body: .voteReply(granted: granted))))
    }

    mutating func receiveVoteReply(granted: Bool, from: Raft.ServerID, now: Instant, into out: inout [Raft.Output]) {
        guard role == .candidate, granted, voters.contains(from) else { return }
        votes.insert(from)
        if votes.count >= quorum { becomeLeader(now, into: &out) }
    }

    mutating func becomeLeader(_ now: Instant, into out: inout [Raft.Output]) {
        become(.leader, leader: id, now: now, into: &out)
        progress = [:]
        for voter in voters where voter != id { progress[voter] = Progress(next: log.lastIndex + 1) }
        quorumCheckDue = now + settings.electionTimeout
        // A no-op of our term commits what earlier terms left (§5.4.2, §8).
        termStartIndex = appendAsLeader(.noop, now: now, into: &out).index
    }

    /// Check-quorum: a leader that has not heard from a majority within an
    /// election timeout steps down, so a leader cut off from its cluster
    /// stops answering reads as if it still led.
    mutating func checkQuorum(_ now: Instant, into out: inout [Raft.Output]) {
        let active = 1 + voters.filter { $0 != id && progress[$0]?.active == true }.count
        for key in progress.keys { progress[key]?.active = false }
        quorumCheckDue = now + settings.electionTimeout
        if isVoter && active < quorum { become(.follower, leader: nil, now: now, into: &out) }
    }
}
