import Primitives

/// Full-state anti-entropy over TCP (push/pull), also used to join.
extension SWIM.Instance {
    /// Our full state, encoded for a push/pull frame.
    public func pushPullPayload(join: Bool, userState: [UInt8]) -> [UInt8] {
        let rows = nodes.map {
            SWIM.NodeState(name: $0.name, address: $0.address, meta: $0.meta,
                           incarnation: $0.incarnation, status: $0.status)
        }
        return SWIM.WireCodec.encode(SWIM.PushPull(join: join, nodes: rows, userState: userState))
    }

    /// Merges a peer's full state. Returns its user state and whether it
    /// was a join, or an error for the shell to log.
    public mutating func mergePushPull(_ payload: [UInt8], now: Instant,
                                       into out: inout [Directive]) -> Result<(userState: [UInt8], join: Bool), PushPullError> {
        let remote: SWIM.PushPull
        do {
            remote = try SWIM.WireCodec.decodePushPull(payload)
        } catch {
            return .failure(PushPullError(description: "bad push/pull frame: \(error)"))
        }
        for row in remote.nodes {
            switch row.status {
            case .alive:
                handleAlive(SWIM.Alive(incarnation: row.incarnation, name: row.name, address: row.address, meta: row.meta),
                            now: now, &out)
            case .left:
                handleDead(SWIM.Accusation(incarnation: row.incarnation, name: row.name, from: row.name), now: now, &out)
            case .dead, .suspect:
                // Another member's verdict is only a suspicion here: our own
                // failure detector, or the node's refutation, settles it.
                // An empty accuser: it confirms nothing (see Suspicion.confirm).
                handleSuspect(SWIM.Accusation(incarnation: row.incarnation, name: row.name, from: ""), now: now, &out)
            }
        }
        return .success((remote.userState, remote.join))
    }

    /// A join asks the given addresses for a push/pull exchange.
    public func joinDirectives(_ addresses: [Endpoint]) -> [Directive] {
        addresses.map { .pushPull(with: $0, join: true) }
    }
}

public struct PushPullError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension SWIM.Instance {
    /// Simulation only: makes `members` known alive at once, with no gossip
    /// and no events, to build a large converged pool cheaply.
    @_spi(Simulation)
    public mutating func preload(_ members: [(name: String, address: Endpoint)], now: Instant) {
        nodes.reserveCapacity(nodes.count + members.count)
        for m in members where index[m.name] == nil {
            insert(SWIM.Member(name: m.name, address: m.address, meta: [], incarnation: 0, status: .alive, since: now))
        }
    }
}
