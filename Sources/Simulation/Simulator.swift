import CatalogCore
@_spi(Simulation) import MembershipCore
import Primitives

/// A deterministic network of SWIM instances: virtual clock, seeded
/// randomness, per-link delay, packet loss and partitions. Nothing here
/// sleeps or touches a socket; a simulated hour takes seconds. With
/// `catalog` on, each node also runs the catalog's replication core on the
/// pool's user messages and push/pull state (`Simulator+Catalog.swift`).
public struct Simulator {
    public struct Node {
        public var instance: SWIM.Instance?
        public var address: Endpoint
        public var crashed = false
        public var scheduledWake: Instant?
        public var events: [SWIM.MemberEvent] = []
        /// The node's catalog replication, when the simulator runs one.
        public var catalog: Catalog.Sync?
        /// What the node last made durable of its own record (its "disk":
        /// survives a crash, restored by `restart`).
        public var savedLocal: Catalog.NodeRecord?
        /// How many times its replica changed.
        public var catalogChanges = 0
    }

    public enum Event {
        case wake(Int)
        case packet([UInt8], from: Int, to: Int)
        case pushPull(from: Int, to: Int, join: Bool)
        case housekeep(Int)
    }

    public private(set) var now = Instant(nanoseconds: 1_000_000_000)
    public var nodes: [Node] = []
    public var settings: SWIM.Settings
    public var lossRate = 0.0
    public var minDelay: Duration = .milliseconds(1)
    public var maxDelay: Duration = .milliseconds(5)
    /// A fixed one-way delay per link (a latency matrix), added to the
    /// random `minDelay...maxDelay` part; nil means none.
    public var linkLatency: ((_ from: Int, _ to: Int) -> Duration)?
    /// Nodes in different groups cannot reach each other; nil means one network.
    public var partition: [Int: Int]?
    /// Run the catalog's replication on every node added from now on.
    public var catalog = false
    /// How often each node's catalog sweeps its tombstones and notices.
    public var catalogHousekeeping: Duration = .seconds(60)
    /// The wall clock's reading (ms) at virtual time zero; a node's own
    /// offset from it (a skewed clock) in `wallSkew`.
    public var wallEpochMillis: UInt64 = 1_800_000_000_000
    public var wallSkew: [Int: Int64] = [:]
    var random: SWIM.SeededRandom
    var queue = TimedQueue<Event>()
    var byAddress: [Endpoint: Int] = [:]
    /// News being traced: a member name and the incarnation that carries it.
    public var traced: (name: String, incarnation: UInt32)?
    /// For each node that has the traced news: in how many hops it came.
    public private(set) var hops: [Int: Int] = [:]
    public private(set) var packetsSent = 0
    public private(set) var bytesSent = 0

    public init(settings: SWIM.Settings = .lan, seed: UInt64) {
        self.settings = settings
        random = SWIM.SeededRandom(seed: seed)
    }

    public static func address(_ i: Int) -> Endpoint {
        // Labels only: the simulator never sends a real packet.
        Endpoint(ipv4: 127, 1, UInt8((i >> 8) & 0xff), UInt8(i & 0xff), port: 8301)
    }

    public static func name(_ i: Int) -> String { "node-\(i)" }

    /// Adds a node (started now) and returns its id.
    @discardableResult
    public mutating func addNode(meta: [UInt8] = []) -> Int {
        let id = nodes.count
        let address = Self.address(id)
        byAddress[address] = id
        let instance = SWIM.Instance(name: Self.name(id), address: address, meta: meta, settings: settings,
                                     seed: random.next(), now: now)
        nodes.append(Node(instance: instance, address: address))
        schedule(id)
        startCatalog(id)
        return id
    }

    /// Starts node `id` afresh (a restart after a crash or leave), same name and address.
    public mutating func restart(_ id: Int) {
        nodes[id].instance = SWIM.Instance(name: Self.name(id), address: nodes[id].address, settings: settings,
                                           seed: random.next(), now: now)
        nodes[id].crashed = false
        nodes[id].scheduledWake = nil
        schedule(id)
        startCatalog(id)
    }

    public mutating func crash(_ id: Int) {
        nodes[id].crashed = true
        nodes[id].instance = nil
        nodes[id].catalog = nil
    }

    public mutating func join(_ id: Int, through seed: Int) {
        guard let instance = nodes[id].instance else { return }
        apply(instance.joinDirectives([nodes[seed].address]), from: id)
    }

    public mutating func leave(_ id: Int) {
        let now = self.now
        apply(mutate(id) { $0.leave(now: now) } ?? [], from: id)
    }

    public mutating func updateMeta(_ id: Int, _ meta: [UInt8]) {
        mutate(id) { $0.updateMeta(meta) }
        apply([], from: id)
    }

    /// Mutates node `id`'s instance in place. Taking it out of the array
    /// first keeps its buffers uniquely referenced: no copy-on-write of a
    /// whole membership table per event.
    @discardableResult
    mutating func mutate<R>(_ id: Int, _ body: (inout SWIM.Instance) -> R) -> R? {
        guard var instance = nodes[id].instance else { return nil }
        nodes[id].instance = nil
        let result = body(&instance)
        nodes[id].instance = instance
        return result
    }

    public func instance(_ id: Int) -> SWIM.Instance? { nodes[id].instance }

    // MARK: - Running

    /// Advances virtual time by `duration`, processing every event due.
    public mutating func run(for duration: Duration) {
        run(until: now + duration)
    }

    public mutating func run(until end: Instant, stopWhen done: (Simulator) -> Bool = { _ in false },
                      checkEvery: Duration = .milliseconds(100)) {
        var nextCheck = now + checkEvery
        while let top = queue.peek(), top.deadline <= end {
            if top.deadline >= nextCheck {
                now = nextCheck
                if done(self) { return }
                nextCheck = now + checkEvery
                continue
            }
            queue.pop()
            now = top.deadline
            process(top.payload)
        }
        now = end
    }

    /// Runs until `condition` holds (checked every `checkEvery` of virtual time)
    /// or `limit` passes; returns the virtual time it took, or nil.
    public mutating func runUntil(limit: Duration, checkEvery: Duration = .milliseconds(100),
                                  _ condition: (Simulator) -> Bool) -> Duration? {
        let start = now
        if condition(self) { return .zero }
        run(until: now + limit, stopWhen: condition, checkEvery: checkEvery)
        return condition(self) ? now - start : nil
    }

    mutating func process(_ event: Event) {
        switch event {
        case .wake(let id):
            guard nodes[id].scheduledWake == now else { return }
            nodes[id].scheduledWake = nil
            let now = self.now
            guard let out = mutate(id, { $0.tick(now: now) }) else { return }
            apply(out, from: id)
        case .packet(let bytes, let from, let to):
            var out: [SWIM.Directive] = []
            let now = self.now, sender = nodes[from].address
            guard mutate(to, { $0.receive(bytes, from: sender, now: now, into: &out) }) != nil else { return }
            trace(from: from, to: to)
            apply(out, from: to)
        case .pushPull(let from, let to, let join):
            guard let request = nodes[from].instance?.pushPullPayload(join: join, userState: catalogState(from, answering: nil)),
                  nodes[to].instance != nil, reachable(from, to) else { return }
            // As the shell: the answer is sent after merging the request.
            let now = self.now
            var outB: [SWIM.Directive] = []
            guard let merged = mutate(to, { $0.mergePushPull(request, now: now, into: &outB) }) else { return }
            trace(from: from, to: to)
            apply(outB, from: to)
            let requestState = (try? merged.get())?.userState
            if let requestState { mergeCatalog(requestState, into: to) }
            guard let response = nodes[to].instance?.pushPullPayload(join: join, userState: catalogState(to, answering: requestState)) else { return }
            var outA: [SWIM.Directive] = []
            guard let answer = mutate(from, { $0.mergePushPull(response, now: now, into: &outA) }) else { return }
            trace(from: to, to: from)
            apply(outA, from: from)
            if let state = (try? answer.get())?.userState { mergeCatalog(state, into: from) }
        case .housekeep(let id):
            housekeepCatalog(id)
        }
    }

    private mutating func trace(from: Int, to: Int) {
        guard let traced, hops[to] == nil,
              (nodes[to].instance?.member(named: traced.name)?.incarnation ?? 0) >= traced.incarnation else { return }
        hops[to] = (hops[from] ?? 0) + 1
    }

    /// Starts tracing news about `node` at its current incarnation.
    public mutating func trace(newsOf node: Int) {
        guard let instance = nodes[node].instance else { return }
        traced = (Self.name(node), instance.incarnation)
        hops = [node: 0]
    }

    /// Adds `n` nodes that already know each other (a converged pool, built
    /// without the join traffic) and returns their ids.
    public mutating func addConvergedNodes(_ n: Int) -> Range<Int> {
        let first = nodes.count
        for _ in 0..<n { addNode() }
        let everyone = (first..<first + n).map { (name: Self.name($0), address: nodes[$0].address) }
        for id in first..<first + n {
            nodes[id].instance?.preload(everyone, now: now)
        }
        return first..<first + n
    }

    mutating func apply(_ directives: [SWIM.Directive], from id: Int) {
        for directive in directives {
            switch directive {
            case .send(let bytes, let target):
                guard let to = byAddress[target] else { continue }
                packetsSent += 1
                bytesSent += bytes.count
                guard reachable(id, to), Double.random(in: 0..<1, using: &random) >= lossRate else { continue }
                queue.push(now + delay(id, to), .packet(bytes, from: id, to: to))
            case .pushPull(let target, let join):
                guard let to = byAddress[target] else { continue }
                queue.push(now + delay(id, to) + delay(to, id), .pushPull(from: id, to: to, join: join))
            case .event(let event):
                nodes[id].events.append(event)
                catalogSees(event, at: id)
            case .userMessage(let bytes):
                receiveCatalog(bytes, at: id)
            }
        }
        schedule(id)
    }

    mutating func schedule(_ id: Int) {
        guard let instance = nodes[id].instance else { return }
        let wake = max(instance.nextWakeup, now)
        if let current = nodes[id].scheduledWake, current <= wake { return }
        nodes[id].scheduledWake = wake
        queue.push(wake, .wake(id))
    }

    mutating func delay(_ from: Int, _ to: Int) -> Duration {
        let span = (maxDelay - minDelay).nanoseconds
        let jitter = minDelay + .nanoseconds(span > 0 ? Int64.random(in: 0...span, using: &random) : 0)
        return (linkLatency?(from, to) ?? .zero) + jitter
    }

    public func reachable(_ a: Int, _ b: Int) -> Bool {
        guard let partition else { return true }
        return partition[a, default: 0] == partition[b, default: 0]
    }

    // MARK: - Views for assertions

    /// The status node `observer` reports for `subject`, if it knows it.
    public func status(of subject: Int, seenBy observer: Int) -> SWIM.Status? {
        nodes[observer].instance?.member(named: Self.name(subject))?.status
    }

    /// Cheap check, for polling: every running node counts exactly the
    /// running set as live.
    public func converged(live: Set<Int>) -> Bool {
        live.allSatisfy { nodes[$0].instance?.liveMemberCount == live.count }
    }

    /// Full check: every running node sees every running node alive.
    public func viewsCorrect(live: Set<Int>) -> Bool {
        guard converged(live: live) else { return false }
        for id in live {
            guard let instance = nodes[id].instance else { return false }
            for other in live where instance.member(named: Self.name(other))?.status != .alive { return false }
        }
        return true
    }

    /// Delivers raw bytes to `to` as if `from` had sent them (fault injection).
    public mutating func inject(_ bytes: [UInt8], from: Int, to: Int) {
        queue.push(now, .packet(bytes, from: from, to: to))
    }

    /// Failure events node `observer` has emitted about `subject`.
    public func failures(of subject: Int, seenBy observer: Int) -> Int {
        nodes[observer].events.filter {
            if case .failed(let m) = $0 { return m.name == Self.name(subject) } else { return false }
        }.count
    }

    /// All failure events emitted anywhere.
    public var totalFailureEvents: Int {
        nodes.reduce(0) { sum, node in
            sum + node.events.filter { if case .failed = $0 { true } else { false } }.count
        }
    }
}
