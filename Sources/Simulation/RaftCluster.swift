import Primitives
import RaftCore

/// Raft servers (`Raft.Node`) on a virtual network that loses, delays,
/// reorders and duplicates messages, with partitions, crashes and restarts
/// from each server's "disk" (what its outputs persisted). Each server
/// runs a key/value register as its state machine. Raft's invariants are
/// checked as outputs happen; `violations` collects what broke.
public struct RaftCluster {
    /// A server's disk as the agent's would be: a whole copy and the
    /// journal records written since (folded every 64), read back through
    /// `Raft.DurableState.restore` on every start.
    public struct Disk: Sendable {
        public var state = Raft.DurableState()
        var whole: [UInt8]?
        var journal: [[UInt8]] = []
        public var snapshot: Raft.Snapshot? { state.snapshot }

        mutating func write(_ record: [UInt8]) {
            journal.append(record)
            if journal.count >= 64 {
                whole = state.encode()
                journal = []
            }
        }
    }

    enum Event {
        case deliver(Raft.Message, from: String, to: String)
        case tick(String)
    }

    public let ids: [String]
    public var settings: Raft.Settings
    public private(set) var nodes: [String: Raft.Node] = [:]
    public private(set) var disks: [String: Disk] = [:]
    /// Each running server's state machine: key → value.
    public private(set) var machines: [String: [String: String]] = [:]
    public private(set) var now = Instant(nanoseconds: 1_000_000_000)
    var queue = TimedQueue<Event>()
    var rng: SeededRandom
    var restarts: [String: UInt64] = [:]

    public var lossRate = 0.0
    public var duplicateRate = 0.0
    /// One-way delay, uniform in this range (reordering follows).
    public var delay: ClosedRange<Duration> = .milliseconds(1)...(.milliseconds(5))
    /// Servers in different groups cannot reach each other.
    public var partition: [String: Int]?
    /// Take a snapshot every this many applied entries (0: never).
    public var snapshotEvery = 0

    /// Raft's safety properties, checked as the run goes.
    public private(set) var violations: [String] = []
    /// term → the leader elected in it.
    public private(set) var leaders: [UInt64: String] = [:]
    /// index → the entry applied there, by whichever server applied it first.
    public private(set) var applied: [UInt64: Raft.Entry] = [:]
    /// Called for every entry a server applies, and for every read that
    /// becomes ready (with the value read): the client side of the tests.
    public var onApply: ((_ server: String, Raft.Entry, Instant) -> Void)?
    public var onRead: ((_ server: String, _ id: UInt64, _ machine: [String: String], Instant) -> Void)?
    /// Reads waiting for their server to apply up to an index.
    var waitingReads: [String: [(id: UInt64, index: UInt64)]] = [:]

    public init(servers: Int, settings: Raft.Settings = .fast, seed: UInt64) {
        ids = (1...servers).map { "s\($0)" }
        self.settings = settings
        rng = SeededRandom(seed: seed)
        for id in ids {
            disks[id] = Disk()
            start(id)
            let voters = ids
            step(id) { node, out in node.bootstrap(voters: voters, into: &out) }
        }
    }

    // MARK: - Running

    public mutating func run(for duration: Duration) {
        let end = now + duration
        while let next = queue.peek(), next.deadline <= end {
            queue.pop()
            now = max(now, next.deadline)
            process(next.payload)
        }
        now = end
    }

    /// Runs until `done` holds (checked every 10 ms) or `limit` passes; the time it took.
    @discardableResult
    public mutating func run(until limit: Duration, _ done: (RaftCluster) -> Bool) -> Duration? {
        let start = now, end = now + limit
        while now < end {
            if done(self) { return now - start }
            run(for: .milliseconds(10))
        }
        return done(self) ? now - start : nil
    }

    mutating func process(_ event: Event) {
        let now = self.now
        switch event {
        case .deliver(let message, let from, let to):
            guard nodes[to] != nil else { return }
            step(to) { node, out in node.receive(message, from: from, now: now, into: &out) }
        case .tick(let id):
            guard nodes[id] != nil else { return }
            step(id) { node, out in node.tick(now: now, into: &out) }
            queue.push(now + .milliseconds(5), .tick(id))
        }
    }

    /// Runs one input on server `id`, then carries out its outputs.
    @discardableResult
    public mutating func step<R>(_ id: String, _ input: (inout Raft.Node, inout [Raft.Output]) throws -> R) rethrows -> R? {
        guard var node = nodes[id] else { return nil }
        var out: [Raft.Output] = []
        let result = try input(&node, &out)
        nodes[id] = node
        perform(out, at: id)
        return result
    }

    // MARK: - Faults

    public mutating func crash(_ id: String) {
        nodes[id] = nil
        machines[id] = nil
        waitingReads[id] = nil
    }

    /// Starts (or restarts) a server from its disk.
    public mutating func start(_ id: String) {
        let disk = disks[id] ?? Disk()
        restarts[id, default: 0] += 1
        let seed = rng.next() ^ restarts[id, default: 0]
        var state = disk.state
        do {
            state = try Raft.DurableState.restore(whole: disk.whole, journal: disk.journal)
            if state != disk.state { violations.append("\(id): the disk reads back other than was written") }
        } catch {
            violations.append("\(id): the disk does not read back: \(error)")
        }
        nodes[id] = Raft.Node(id: id, settings: settings, hard: state.hard, snapshot: state.snapshot,
                              entries: state.entries, now: now, seed: seed)
        machines[id] = disk.snapshot.map { Self.decodeMachine($0.data) } ?? [:]
        queue.push(now + .milliseconds(5), .tick(id))
    }

    public var leader: String? {
        ids.filter { nodes[$0]?.role == .leader }.max { (nodes[$0]?.hard.term ?? 0) < (nodes[$1]?.hard.term ?? 0) }
    }

    func reachable(_ a: String, _ b: String) -> Bool {
        guard let partition else { return true }
        return partition[a] == partition[b]
    }

    // MARK: - Outputs

    mutating func perform(_ outputs: [Raft.Output], at id: String) {
        for output in outputs {
            switch output {
            case .saveHardState, .truncateLog:
                persist(output, at: id)
            case .appendLog(let entries):
                let last = disks[id]?.state.entries.last?.index ?? disks[id]?.snapshot?.index ?? 0
                if entries.first?.index != last + 1 { violations.append("\(id) appended \(entries.first?.index ?? 0) after \(last)") }
                persist(output, at: id)
            case .installSnapshot(let snapshot):
                persist(output, at: id)
                machines[id] = Self.decodeMachine(snapshot.data)
            case .send(let to, let message):
                send(message, from: id, to: to)
            case .apply(let entries):
                for entry in entries { apply(entry, at: id) }
                takeSnapshotIfDue(id)
                answerReads(id)
            case .readReady(let readID, let index):
                waitingReads[id, default: []].append((readID, index))
                answerReads(id)
            case .readFailed:
                break
            case .roleChanged(let role, let leader):
                guard role == .leader, let term = nodes[id]?.hard.term else { continue }
                if let other = leaders[term], other != id { violations.append("two leaders in term \(term): \(other), \(id)") }
                leaders[term] = leader
                checkLeaderCompleteness(id)
            }
        }
    }

    mutating func persist(_ output: Raft.Output, at id: String) {
        guard var disk = disks[id] else { return }
        if let record = disk.state.record(for: output) { disk.write(record) }
        disks[id] = disk
    }

    mutating func send(_ message: Raft.Message, from: String, to: String) {
        guard reachable(from, to) else { return }
        let copies = Double.random(in: 0..<1, using: &rng) < duplicateRate ? 2 : 1
        for _ in 0..<copies {
            guard Double.random(in: 0..<1, using: &rng) >= lossRate else { continue }
            let low = delay.lowerBound.nanoseconds, high = max(low, delay.upperBound.nanoseconds)
            let d = Duration.nanoseconds(Int64.random(in: low...high, using: &rng))
            queue.push(now + d, .deliver(message, from: from, to: to))
        }
    }

    mutating func apply(_ entry: Raft.Entry, at id: String) {
        if let first = applied[entry.index] {
            if first != entry { violations.append("\(id) applied \(entry) at \(entry.index), another server \(first)") }
        } else {
            applied[entry.index] = entry
        }
        if case .command(let bytes) = entry.kind, let (key, value) = Self.decodeWrite(bytes) {
            machines[id]?[key] = value
        }
        onApply?(id, entry, now)
    }

    mutating func answerReads(_ id: String) {
        guard let node = nodes[id], let waiting = waitingReads[id], !waiting.isEmpty else { return }
        let ready = waiting.filter { $0.index <= node.appliedIndex }
        waitingReads[id] = waiting.filter { $0.index > node.appliedIndex }
        for read in ready { onRead?(id, read.id, machines[id] ?? [:], now) }
    }

    /// Leader completeness: a new leader holds every entry applied anywhere.
    mutating func checkLeaderCompleteness(_ id: String) {
        guard let log = nodes[id]?.log else { return }
        for (index, entry) in applied where index > log.snapshotIndex {
            if log.term(at: index) != entry.term {
                violations.append("leader \(id) of term \(nodes[id]?.hard.term ?? 0) lacks committed entry \(index)")
                return
            }
        }
    }

    mutating func takeSnapshotIfDue(_ id: String) {
        guard snapshotEvery > 0, let node = nodes[id], let machine = machines[id],
              node.appliedIndex >= node.log.snapshotIndex + UInt64(snapshotEvery),
              let term = node.log.term(at: node.appliedIndex) else { return }
        let snapshot = Raft.Snapshot(index: node.appliedIndex, term: term, voters: node.voters(at: node.appliedIndex),
                                     data: Self.encodeMachine(machine))
        nodes[id]?.compact(snapshot)
        disks[id]?.state.take(snapshot)
        disks[id]?.write(Raft.DurableState.snapshotRecord(snapshot))
    }

    /// Log matching, checked between every pair of running servers: where
    /// two logs hold an entry of the same index and term, they hold the
    /// same entries up to it.
    public mutating func checkLogMatching() {
        let running = ids.filter { nodes[$0] != nil }
        for (i, a) in running.enumerated() {
            for b in running[(i + 1)...] {
                guard let la = nodes[a]?.log, let lb = nodes[b]?.log else { continue }
                let top = min(la.lastIndex, lb.lastIndex)
                let bottom = max(la.snapshotIndex, lb.snapshotIndex) + 1
                guard top >= bottom else { continue }
                var index = top
                while index >= bottom, la.term(at: index) != lb.term(at: index) { index -= 1 }
                guard index >= bottom else { continue }
                for k in bottom...index where la.entry(at: k) != lb.entry(at: k) {
                    violations.append("logs of \(a) and \(b) match at \(index) but differ at \(k)")
                    break
                }
            }
        }
    }

    // MARK: - The state machine's commands

    public static func encodeWrite(key: String, value: String) -> [UInt8] {
        var w = ByteWriter()
        w.string16(key); w.string16(value)
        return w.bytes
    }

    static func decodeWrite(_ bytes: [UInt8]) -> (String, String)? {
        var r = ByteReader(bytes)
        guard let key = try? r.string16(), let value = try? r.string16() else { return nil }
        return (key, value)
    }

    static func encodeMachine(_ machine: [String: String]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(machine.count))
        for (k, v) in machine.sorted(by: { $0.key < $1.key }) { w.string16(k); w.string16(v) }
        return w.bytes
    }

    static func decodeMachine(_ bytes: [UInt8]) -> [String: String] {
        var r = ByteReader(bytes)
        var machine: [String: String] = [:]
        guard let count = try? r.u32() else { return [:] }
        for _ in 0..<count {
            guard let k = try? r.string16(), let v = try? r.string16() else { break }
            machine[k] = v
        }
        return machine
    }
}
