import Primitives
import RaftCore
import Simulation

/// Clients of a simulated Raft cluster: each writes or reads one of a few
/// keys through the current leader, one operation at a time, and the
/// outcomes go into a `History` for the linearizability checker. A write
/// is acknowledged when its (index, term) is applied; the entry of
/// another term at its index means it was lost (dropped from the history);
/// a client that waits too long gives up and leaves it open.
final class Clients {
    let history = History()
    let keys = ["a", "b", "c"]
    private var rng: SeededRandom
    private var pendingWrites: [UInt64: [(term: UInt64, op: Int)]] = [:]
    private var pendingReads: [UInt64: Int] = [:]
    /// Per client: its operation in progress and when it gives up.
    private var busy: [(op: Int, until: Instant)?]
    /// Per client: the server it sends to.
    private var server: [String?]
    private var nextReadID: UInt64 = 1
    private var writes = 0
    private(set) var acknowledgedWrites = 0
    private(set) var answeredReads = 0

    init(count: Int, seed: UInt64) {
        rng = SeededRandom(seed: seed)
        busy = Array(repeating: nil, count: count)
        server = Array(repeating: nil, count: count)
    }

    func attach(to cluster: inout RaftCluster) {
        cluster.onApply = { [self] _, entry, now in applied(entry, at: now) }
        cluster.onRead = { [self] _, id, machine, now in answered(id, machine, at: now) }
    }

    private func applied(_ entry: Raft.Entry, at now: Instant) {
        guard let waiting = pendingWrites.removeValue(forKey: entry.index) else { return }
        for (term, op) in waiting where history.isOpen(op) {
            if term == entry.term {
                history.respond(op, at: now)
                acknowledgedWrites += 1
            } else {
                history.drop(op)
            }
            finish(op)
        }
    }

    private func answered(_ id: UInt64, _ machine: [String: String], at now: Instant) {
        guard let op = pendingReads.removeValue(forKey: id), history.isOpen(op) else { return }
        history.respond(op, at: now, read: .some(machine[history.operations[op].key]))
        answeredReads += 1
        finish(op)
    }

    private func finish(_ op: Int) {
        for c in busy.indices where busy[c]?.op == op { busy[c] = nil }
    }

    /// Every idle client (or one that gave up) starts its next operation.
    func issue(on cluster: inout RaftCluster) {
        let now = cluster.now
        for c in busy.indices {
            if let current = busy[c] {
                guard now >= current.until else { continue }
                // Gave up: a read is forgotten (it had no effect); a write stays open.
                if case .read = history.operations[current.op].kind, history.isOpen(current.op) { history.drop(current.op) }
            }
            busy[c] = nil
            // A client keeps the server it last used while that server says
            // it leads (as a real one would: it cannot know better), so
            // stale leaders cut off from their majority get requests too.
            if let server = server[c], cluster.nodes[server]?.role != .leader { self.server[c] = nil }
            if server[c] == nil {
                let leaders = cluster.ids.filter { cluster.nodes[$0]?.role == .leader }
                if !leaders.isEmpty { server[c] = leaders[Int(rng.next() % UInt64(leaders.count))] }
            }
            guard let leader = server[c] else { continue }
            let key = keys[Int(rng.next() % UInt64(keys.count))]
            if rng.next() % 2 == 0 {
                writes += 1
                let value = "c\(c)-\(writes)"
                let op = history.call(key, .write(value), at: now)
                let command = RaftCluster.encodeWrite(key: key, value: value)
                let placed = try? cluster.step(leader) { node, out in try node.propose(command, now: now, into: &out) }
                guard let placed = placed ?? nil else {
                    history.drop(op)
                    continue
                }
                pendingWrites[placed.index, default: []].append((placed.term, op))
                busy[c] = (op, now + .seconds(2))
                // A single server commits and applies as it proposes.
                if let entry = cluster.applied[placed.index] { applied(entry, at: now) }
            } else {
                let id = nextReadID
                nextReadID += 1
                let op = history.call(key, .read(nil), at: now)
                pendingReads[id] = op
                busy[c] = (op, now + .seconds(1))
                cluster.step(leader) { node, out in node.read(id: id, now: now, into: &out) }
            }
        }
    }
}
