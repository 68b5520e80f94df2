import RaftCore
import Sockets

/// One server's Raft on the agent's event loop: the shell of `Raft.Node`.
/// It runs the core's timers on the loop, keeps its hard state and log in
/// `<data-dir>/raft` by group commit (`DurableStore`, journal records from
/// `Raft.DurableState`), and passes its messages to `transport`. Outputs
/// are carried out in order; whatever follows a persistent output (a vote,
/// an acknowledgement, an apply) waits until that output is on disk. A
/// failed write stops this server's Raft (as etcd does): a server that
/// cannot keep its promises must not vote or acknowledge. Loop-confined.
public final class RaftServer {
    public private(set) var node: Raft.Node
    private let loop: EventLoop
    private let store: DurableStore?
    private var durable: Raft.DurableState
    private let transport: (_ to: Raft.ServerID, _ message: [UInt8]) -> Void
    private var timer: TimerID?
    /// Set once a write failed: every input is ignored from then on.
    public private(set) var failure: String?

    /// Committed entries, in order, for the state machine.
    public var onApply: ([Raft.Entry]) -> Void = { _ in }
    /// A snapshot from the leader replaces the state machine.
    public var onInstall: (Raft.Snapshot) -> Void = { _ in }
    /// A consistent read may be answered once `index` is applied (or failed: nil).
    public var onRead: (_ id: UInt64, _ index: UInt64?) -> Void = { _, _ in }
    public var onRoleChange: (Raft.Role, Raft.ServerID?) -> Void = { _, _ in }

    /// Loads what `dataDir` holds (nothing without one: a `-dev` server
    /// keeps its log in memory). Throws when the state cannot be read.
    public init(id: Raft.ServerID, dataDir: String?, loop: EventLoop, settings: Raft.Settings = Raft.Settings(),
                transport: @escaping (_ to: Raft.ServerID, _ message: [UInt8]) -> Void) throws(DecodeError) {
        self.loop = loop
        self.transport = transport
        var state = Raft.DurableState()
        var box: Box?
        if let dataDir {
            let holder = Box()
            let store = DurableStore(path: dataDir + "/raft", what: "the Raft log", loop: loop) { holder.state.encode() }
            let loaded = store.load(limit: 1 << 30)
            if let problem = loaded.problem { Log.warn("raft", problem) }
            state = try Raft.DurableState.restore(whole: loaded.snapshot, journal: loaded.entries)
            holder.state = state
            box = holder
            self.store = store
        } else {
            self.store = nil
        }
        durable = state
        stateBox = box
        var seed = SystemRandomNumberGenerator()
        node = Raft.Node(id: id, settings: settings, hard: state.hard, snapshot: state.snapshot, entries: state.entries,
                         now: loop.now(), seed: seed.next())
    }

    /// The store's snapshot closure reads the state through this box (it
    /// cannot hold `self` before `init` ends).
    private final class Box { var state = Raft.DurableState() }
    private let stateBox: Box?

    /// Starts the timers; `voters` bootstraps a new cluster (ignored when
    /// the log already holds anything).
    public func start(bootstrap voters: [Raft.ServerID]?) {
        if let voters { step { node, out in node.bootstrap(voters: voters, into: &out) } } else { armTimer() }
        if let snapshot = durable.snapshot { onInstall(snapshot) }
    }

    public func stop() {
        if let timer { loop.cancel(timer) }
        timer = nil
        failure = failure ?? "stopped"
    }

    /// A message from another server's transport. Malformed bytes are dropped (logged).
    public func receive(_ bytes: [UInt8], from: Raft.ServerID) {
        let message: Raft.Message
        do {
            message = try Raft.MessageCodec.decode(bytes)
        } catch {
            Log.debug("raft", "dropped a message from \(from): \(error)")
            return
        }
        let now = loop.now()
        step { node, out in node.receive(message, from: from, now: now, into: &out) }
    }

    public func propose(_ command: [UInt8]) throws(Raft.Node.ProposalError) -> (index: UInt64, term: UInt64) {
        guard failure == nil else { throw .notLeader(leader: nil) }
        let now = loop.now()
        var out: [Raft.Output] = []
        let placed = try node.propose(command, now: now, into: &out)
        perform(out)
        armTimer()
        return placed
    }

    public func read(id: UInt64) {
        let now = loop.now()
        step { node, out in node.read(id: id, now: now, into: &out) }
    }

    /// The shell took a snapshot of its state machine (applied through `snapshot.index`).
    public func compact(_ snapshot: Raft.Snapshot) {
        guard failure == nil else { return }
        node.compact(snapshot)
        guard node.log.snapshotIndex == snapshot.index else { return }
        durable.take(snapshot)
        stateBox?.state = durable
        store?.append(Raft.DurableState.snapshotRecord(snapshot))
    }

    // MARK: - The core's outputs

    private func step(_ input: (inout Raft.Node, inout [Raft.Output]) -> Void) {
        guard failure == nil else { return }
        var out: [Raft.Output] = []
        input(&node, &out)
        perform(out)
        armTimer()
    }

    private func perform(_ outputs: [Raft.Output]) {
        var waiting: [Raft.Output] = []
        var wrote = false
        for output in outputs {
            if let record = durable.record(for: output) {
                stateBox?.state = durable
                if let store {
                    store.append(record)
                    wrote = true
                    if case .installSnapshot = output { waiting.append(output) }
                } else if case .installSnapshot = output {
                    carry(output)
                }
                continue
            }
            if wrote { waiting.append(output) } else { carry(output) }
        }
        guard wrote, let store else { return }
        store.whenDurable { [weak self] problem in
            guard let self, self.failure == nil else { return }
            if let problem {
                self.failure = problem
                Log.error("raft", "stopped taking part in Raft: writing the log failed: \(problem)")
                return
            }
            for output in waiting { self.carry(output) }
        }
    }

    private func carry(_ output: Raft.Output) {
        switch output {
        case .send(let to, let message): transport(to, Raft.MessageCodec.encode(message))
        case .apply(let entries): onApply(entries)
        case .installSnapshot(let snapshot): onInstall(snapshot)
        case .readReady(let id, let index): onRead(id, index)
        case .readFailed(let id): onRead(id, nil)
        case .roleChanged(let role, let leader): onRoleChange(role, leader)
        case .saveHardState, .truncateLog, .appendLog: break
        }
    }

    private func armTimer() {
        if let timer { loop.cancel(timer) }
        guard failure == nil else { return }
        let now = loop.now()
        let deadline = node.nextDeadline
        // At most a second: a tick with nothing due does nothing.
        let delay = deadline > now ? min(deadline - now, .seconds(1)) : .zero
        timer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.timer = nil
            let now = self.loop.now()
            self.step { node, out in node.tick(now: now, into: &out) }
        }
    }
}
