/// What one agent knows of user events: the Lamport clock they are
/// stamped with, the IDs recently seen (so a gossiped event is taken and
/// passed on once), and the last `capacity` events meant for this agent,
/// oldest first, as Consul's agent keeps them for `/v1/event/list`.
/// Pure and bounded: a flood of events costs at most `capacity` events
/// and `seenLimit` IDs.
public struct UserEventLog: Sendable {
    public static let capacity = 256
    /// IDs remembered for deduplication; an event whose Lamport time is
    /// more than this far behind the clock is taken to be a replay of one
    /// forgotten since and dropped (Serf's event window, widened).
    static let seenLimit = 1024

    /// The Lamport clock: above every time seen.
    public private(set) var clock: UInt64 = 1
    public private(set) var events: [UserEvent] = []
    /// Events taken on first sight since start (for metrics).
    public private(set) var received = 0
    private var seen: Set<String> = []
    private var seenOrder: [String] = []
    private var seenHead = 0

    public init() {}

    /// The time for an event fired here; the clock moves past it.
    public mutating func stamp() -> UInt64 {
        defer { clock &+= 1 }
        return clock
    }

    public enum Arrival: Equatable, Sendable {
        /// First sight: pass it on; `kept` when it is for this agent.
        case new(kept: Bool)
        case duplicate
        case tooOld
    }

    /// An event fired here or heard by gossip. `isForUs` decides, on first
    /// sight only, whether it joins the list.
    public mutating func receive(_ event: UserEvent, isForUs: (UserEvent) -> Bool) -> Arrival {
        guard !seen.contains(event.id) else { return .duplicate }
        if event.ltime &+ UInt64(Self.seenLimit) < clock { return .tooOld }
        clock = max(clock, event.ltime &+ 1)
        remember(event.id)
        received += 1
        guard isForUs(event) else { return .new(kept: false) }
        if events.count == Self.capacity { events.removeFirst() }
        events.append(event)
        return .new(kept: true)
    }

    private mutating func remember(_ id: String) {
        seen.insert(id)
        if seenOrder.count < Self.seenLimit {
            seenOrder.append(id)
        } else {
            seen.remove(seenOrder[seenHead])
            seenOrder[seenHead] = id
            seenHead = (seenHead + 1) % Self.seenLimit
        }
    }

    /// The events named `name` (all when nil), oldest first.
    public func list(name: String?) -> [UserEvent] {
        guard let name, !name.isEmpty else { return events }
        return events.filter { $0.name == name }
    }

    /// The blocking index of a list, exactly as Consul computes it (Go
    /// clients compute it too, from an event's ID: `api.Event.IDToIndex`):
    /// the UUID's first 16 hex digits XOR its last 16; 1 for an empty list,
    /// so a watcher never spins on index 0.
    public static func index(of list: [UserEvent]) -> UInt64 {
        guard let last = list.last else { return 1 }
        let hex = last.id.utf8.filter { $0 != UInt8(ascii: "-") }
        guard hex.count == 32, let low = UInt64(String(decoding: hex.prefix(16), as: UTF8.self), radix: 16),
              let high = UInt64(String(decoding: hex.suffix(16), as: UTF8.self), radix: 16) else {
            // Not a UUID (a foreign agent's ID): any stable value but 0 and 1.
            var h: UInt64 = 14_695_981_039_346_656_037
            for b in last.id.utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
            return max(h, 2)
        }
        return low ^ high
    }
}
