import Membership
import Sockets

/// User events on the LAN pool: fired here, or heard by gossip and passed
/// on once (a sender's own transmissions reach only a few members), kept
/// when their filters pick this agent. Loop-confined.
public final class UserEventBus {
    public private(set) var log = UserEventLog()
    /// Gossiped events that could not be read, or came too late.
    public private(set) var dropped = 0
    unowned let pool: GossipPool
    let node: String
    /// This agent's services and their tags (for the service and tag filters).
    let services: () -> [(name: String, tags: [String])]
    private var observers: [() -> Void] = []

    init(pool: GossipPool, node: String, services: @escaping () -> [(name: String, tags: [String])]) {
        self.pool = pool
        self.node = node
        self.services = services
    }

    /// Called after an event joins the list (blocking `/v1/event/list` hooks here).
    public func observe(_ observer: @escaping () -> Void) { observers.append(observer) }

    /// Stamps a valid event with the next Lamport time, takes it here if
    /// it is for us, and gossips it. Returns the event as sent.
    @discardableResult
    public func fire(_ event: UserEvent) -> UserEvent {
        var stamped = event
        stamped.ltime = log.stamp()
        take(stamped, encoded: stamped.encoded())
        return stamped
    }

    /// An event's bytes as gossiped (after the message kind).
    func received(_ bytes: [UInt8]) {
        guard let event = try? UserEvent.decode(bytes) else {
            dropped += 1
            return Log.debug("events", "dropped a malformed user event")
        }
        take(event, encoded: bytes)
    }

    private func take(_ event: UserEvent, encoded: [UInt8]) {
        let arrival = log.receive(event) { [node, services] e in e.isFor(node: node, services: services()) }
        switch arrival {
        case .duplicate: return
        case .tooOld:
            dropped += 1
            return Log.debug("events", "dropped user event \(event.id): Lamport time \(event.ltime) is too far behind \(log.clock)")
        case .new(let kept):
            pool.broadcast(user: [CatalogSync.MessageKind.event.rawValue] + encoded, key: "event:" + event.id)
            guard kept else { return }
            Log.debug("events", "user event \(event.name) (\(event.id)) received")
            for observer in observers { observer() }
        }
    }
}
