import Primitives

/// Log replication and commitment (the paper's §5.3–5.4): the leader's
/// appends, pipelined up to a window and rewound on a failure's hint; the
/// follower's consistency check; commitment by a majority, of entries of
/// the leader's own term only.
extension Raft.Node {
    // MARK: - Leader

    /// Appends an entry of our term, persists it, and sends it on.
    @discardableResult
    mutating func appendAsLeader(_ kind: Raft.Entry.Kind, now: Instant, into out: inout [Raft.Output]) -> Raft.Entry {
        let entry = Raft.Entry(term: hard.term, index: log.lastIndex + 1, kind: kind)
        log.append(entry)
        out.append(.appendLog([entry]))
        if case .configuration = kind {
            // New voters get a progress; removed ones keep theirs until it commits.
            for voter in voters where voter != id && progress[voter] == nil {
                progress[voter] = Progress(next: entry.index)
            }
        }
        advanceCommit(now, into: &out)
        broadcastAppends(now, into: &out)
        return entry
    }

    /// One round of appends (or heartbeats) to every follower.
    mutating func broadcastAppends(_ now: Instant, into out: inout [Raft.Output]) {
        sequence += 1
        heartbeatDue = now + settings.heartbeatInterval
        for peer in progress.keys.sorted() { sendAppend(to: peer, heartbeat: true, into: &out) }
    }

    /// Sends `peer` what it lacks from its `next` on (pipelined: `next`
    /// moves past what was sent), a snapshot if that was compacted away,
    /// or, with nothing new, an empty append when `heartbeat` asks for one.
    mutating func sendAppend(to peer: Raft.ServerID, heartbeat: Bool, into out: inout [Raft.Output]) {
        guard var p = progress[peer] else { return }
        if p.next <= log.snapshotIndex, let snapshot {
            out.append(.send(to: peer, Raft.Message(term: hard.term, body: .installSnapshot(snapshot, sequence: sequence))))
            // Past it at once; if it is lost, the next append's failure rewinds.
            p.next = snapshot.index + 1
            progress[peer] = p
            return
        }
        let inflight = Int(p.next - 1 - min(p.match, p.next - 1))
        let room = max(0, settings.maxInflightEntries - inflight)
        let entries = log.entries(from: p.next, limit: min(room, settings.maxEntriesPerAppend))
        guard !entries.isEmpty || heartbeat else { return }
        let prevIndex = p.next - 1
        guard let prevTerm = log.term(at: prevIndex) else {
            // Behind our snapshot, without one to send: wait for the shell's.
            return
        }
        out.append(.send(to: peer, Raft.Message(term: hard.term, body: .append(
            prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commitIndex, sequence: sequence))))
        p.next += UInt64(entries.count)
        progress[peer] = p
    }

    mutating func receiveAppendReply(success: Bool, index: UInt64, sequence replied: UInt64, from: Raft.ServerID,
                                     now: Instant, into out: inout [Raft.Output]) {
        guard role == .leader, var p = progress[from] else { return }
        p.active = true
        p.acknowledged = max(p.acknowledged, replied)
        if success {
            p.match = max(p.match, index)
            p.next = max(p.next, p.match + 1)
        } else {
            // Rewind to the hint, never below what is known to match; a
            // stale failure (the hint at or past `next`) changes nothing.
            if index < p.next { p.next = max(p.match + 1, index) }
        }
        progress[from] = p
        advanceCommit(now, into: &out)
        confirmReads(into: &out)
        guard role == .leader else { return }
        if !success || progress[from].map({ $0.next <= log.lastIndex }) == true {
            sendAppend(to: from, heartbeat: !success, into: &out)
        }
    }

    /// The highest index a majority of voters hold, if of our term, is committed.
    mutating func advanceCommit(_ now: Instant, into out: inout [Raft.Output]) {
        var matches = voters.map { $0 == id ? log.lastIndex : (progress[$0]?.match ?? 0) }
        guard !matches.isEmpty else { return }
        matches.sort(by: >)
        let candidate = matches[quorum - 1]
        guard candidate > commitIndex, log.term(at: candidate) == hard.term else { return }
        commitIndex = candidate
        emitApplies(into: &out)
        // A leader removed from the voters leads until its removal commits, then steps down.
        if !isVoter, log.configurationIndex <= commitIndex {
            become(.follower, leader: nil, now: now, into: &out)
            return
        }
        // Voters removed by a committed configuration are no longer sent to.
        if log.configurationIndex <= commitIndex {
            for peer in progress.keys where !voters.contains(peer) { progress[peer] = nil }
        }
    }

    /// Hands the shell every committed entry it has not applied yet.
    mutating func emitApplies(into out: inout [Raft.Output]) {
        guard commitIndex > appliedIndex else { return }
        let from = appliedIndex + 1
        let entries = log.entries(from: from, limit: Int(commitIndex - appliedIndex))
        guard !entries.isEmpty else { return }
        out.append(.apply(entries))
        appliedIndex = entries[entries.count - 1].index
    }

    // MARK: - Follower

    mutating func receiveAppend(prevIndex: UInt64, prevTerm: UInt64, entries: [Raft.Entry], commit: UInt64,
                                sequence: UInt64, from: Raft.ServerID, into out: inout [Raft.Output]) {
        func reply(_ success: Bool, _ index: UInt64) {
            out.append(.send(to: from, Raft.Message(term: hard.term, body: .appendReply(success: success, index: index, sequence: sequence))))
        }
        var prevIndex = prevIndex, prevTerm = prevTerm, entries = entries
        // Entries our snapshot covers are committed, so they match the
        // leader's: skip them and check from the snapshot on.
        if prevIndex < log.snapshotIndex {
            entries.removeAll { $0.index <= log.snapshotIndex }
            prevIndex = log.snapshotIndex
            prevTerm = log.snapshotTerm
        }
        guard let held = log.term(at: prevIndex), held == prevTerm else {
            // Where to try next: past our end, or the first entry of the conflicting term.
            if prevIndex > log.lastIndex { return reply(false, log.lastIndex + 1) }
            var hint = prevIndex
            let conflicting = log.term(at: prevIndex)
            while hint > log.snapshotIndex + 1, log.term(at: hint - 1) == conflicting { hint -= 1 }
            return reply(false, max(hint, commitIndex + 1))
        }
        // A leader's log holds every committed entry, so one that conflicts
        // with ours is not a leader's (a bug or a forged message): refused,
        // and nothing committed is ever truncated.
        let conflictsWithCommitted = entries.contains { entry in
            guard entry.index <= commitIndex, let held = log.term(at: entry.index) else { return false }
            return held != entry.term
        }
        if conflictsWithCommitted {
            Log.warn("raft", "refused an append from \(from) that conflicts with committed entries (through \(commitIndex))")
            return reply(false, commitIndex + 1)
        }
        var appended: [Raft.Entry] = []
        for entry in entries {
            if let existing = log.term(at: entry.index) {
                if existing == entry.term { continue }
                // A conflicting suffix goes (above the commit index, checked above).
                log.truncate(after: entry.index - 1)
                out.append(.truncateLog(after: entry.index - 1))
            }
            guard entry.index == log.lastIndex + 1 else { break }
            log.append(entry)
            appended.append(entry)
        }
        if !appended.isEmpty { out.append(.appendLog(appended)) }
        let lastNew = prevIndex + UInt64(entries.count)
        let newCommit = min(commit, lastNew)
        if newCommit > commitIndex {
            commitIndex = newCommit
            emitApplies(into: &out)
        }
        reply(true, lastNew)
    }

    // MARK: - Snapshots

    mutating func receiveSnapshot(_ incoming: Raft.Snapshot, sequence: UInt64, from: Raft.ServerID,
                                  into out: inout [Raft.Output]) {
        func reply(_ index: UInt64) {
            out.append(.send(to: from, Raft.Message(term: hard.term, body: .appendReply(success: true, index: index, sequence: sequence))))
        }
        // A snapshot we are past already (a duplicate, or reordered) changes nothing.
        guard incoming.index > commitIndex else { return reply(commitIndex) }
        let keepsSuffix = log.term(at: incoming.index) == incoming.term
        log.install(incoming)
        snapshot = incoming
        if !keepsSuffix { out.append(.truncateLog(after: incoming.index)) }
        out.append(.installSnapshot(incoming))
        commitIndex = incoming.index
        appliedIndex = incoming.index
        reply(incoming.index)
    }

    /// The shell took a snapshot of the state machine through `index`
    /// (applied already): the log before it goes, and followers that need
    /// it are sent this snapshot.
    public mutating func compact(_ taken: Raft.Snapshot) {
        guard taken.index <= appliedIndex, taken.index > log.snapshotIndex,
              log.term(at: taken.index) == taken.term else { return }
        log.compact(through: taken.index, voters: taken.voters)
        snapshot = taken
    }

    /// The voters in effect at `index` (for the shell's snapshots).
    public func voters(at index: UInt64) -> [Raft.ServerID] {
        var voters = log.snapshotVoters
        for entry in log.entries where entry.index <= index {
            if case .configuration(let v) = entry.kind { voters = v }
        }
        return voters
    }
}
