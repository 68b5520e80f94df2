import Glibc
import Primitives

/// Membership updates: alive, suspect and dead messages, refutation,
/// suspicion timeouts and reaping (SWIM 4.2, Lifeguard IV.B).
extension SWIM.Instance {
    mutating func handleAlive(_ alive: SWIM.Alive, now: Instant, _ out: inout [Directive]) {
        if alive.name == name {
            guard !isLeaving else { return }
            // An older or different instance of us is being talked about: refute.
            if alive.incarnation > incarnation
                || (alive.incarnation == incarnation && (alive.meta != meta || alive.address != address)) {
                refute(observed: alive.incarnation)
            }
            return
        }
        guard alive.meta.count <= settings.metaLimit, !alive.name.isEmpty else { return }
        guard let i = index[alive.name] else {
            guard nodes.count < settings.memberLimit else {
                counters.membersRefused += 1
                return
            }
            let member = SWIM.Member(name: alive.name, address: alive.address, meta: alive.meta,
                                     incarnation: alive.incarnation, status: .alive, since: now)
            insert(member)
            enqueue(.alive(alive), about: alive.name)
            out.append(.event(.joined(member)))
            return
        }
        let old = nodes[i]
        guard alive.incarnation > old.incarnation else { return }
        suspicions[alive.name] = nil
        nodes[i].incarnation = alive.incarnation
        nodes[i].address = alive.address
        nodes[i].meta = alive.meta
        setStatus(i, .alive, now: now)
        enqueue(.alive(alive), about: alive.name)
        if !old.status.isLive {
            out.append(.event(.joined(nodes[i])))
        } else if old.meta != alive.meta || old.address != alive.address {
            out.append(.event(.updated(nodes[i])))
        }
    }

    mutating func handleSuspect(_ accusation: SWIM.Accusation, now: Instant, _ out: inout [Directive]) {
        guard let i = index[accusation.name] else { return }
        let member = nodes[i]
        guard accusation.incarnation >= member.incarnation, member.status.isLive else { return }
        if accusation.name == name {
            guard !isLeaving else { return }
            // Lifeguard: being suspected hints that we are the slow one.
            awareness.apply(1)
            refute(observed: accusation.incarnation)
            return
        }
        if member.status == .suspect, var suspicion = suspicions[accusation.name],
           suspicion.incarnation == accusation.incarnation {
            if suspicion.confirm(from: accusation.from) {
                suspicions[accusation.name] = suspicion
                enqueue(.suspect(accusation), about: accusation.name)
            }
            return
        }
        nodes[i].incarnation = accusation.incarnation
        setStatus(i, .suspect, now: now)
        enqueue(.suspect(accusation), about: accusation.name)
        suspicions[accusation.name] = newSuspicion(accusation, now: now)
    }

    func newSuspicion(_ accusation: SWIM.Accusation, now: Instant) -> SWIM.Suspicion {
        let n = liveCount
        var expected = settings.suspicionMultiplier - 2
        if n - 2 < expected { expected = 0 }
        let scale = Double(settings.suspicionMultiplier) * max(1, log10(Double(max(n, 1))))
        let minimum = settings.probeInterval * scale
        let maximum = minimum * Double(settings.suspicionMaxTimeoutMultiplier)
        return SWIM.Suspicion(incarnation: accusation.incarnation, start: now, from: accusation.from,
                              minimum: minimum, maximum: maximum, floor: settings.confirmedSuspicionTimeout,
                              expected: expected)
    }

    mutating func handleDead(_ accusation: SWIM.Accusation, now: Instant, _ out: inout [Directive]) {
        guard let i = index[accusation.name] else { return }
        let member = nodes[i]
        guard accusation.incarnation >= member.incarnation else { return }
        let isLeave = accusation.from == accusation.name
        if !member.status.isLive {
            // A failed member can still be marked as gone for good (force-leave).
            if isLeave && member.status == .dead {
                nodes[i].incarnation = accusation.incarnation
                setStatus(i, .left, now: now)
                enqueue(.dead(accusation), about: accusation.name)
                out.append(.event(.left(nodes[i])))
            }
            return
        }
        if accusation.name == name && !isLeaving {
            refute(observed: accusation.incarnation)
            return
        }
        suspicions[accusation.name] = nil
        nodes[i].incarnation = accusation.incarnation
        setStatus(i, isLeave ? .left : .dead, now: now)
        enqueue(.dead(accusation), about: accusation.name)
        if accusation.name != name {
            out.append(.event(isLeave ? .left(nodes[i]) : .failed(nodes[i])))
        }
    }

    /// SWIM 4.2: a member that hears it is suspected or dead raises its
    /// incarnation above the accusation and announces itself alive.
    mutating func refute(observed: UInt32) {
        incarnation = max(incarnation, observed) &+ 1
        if let i = index[name] { nodes[i].incarnation = incarnation }
        enqueue(.alive(selfAlive), about: name)
    }

    var selfAlive: SWIM.Alive {
        SWIM.Alive(incarnation: incarnation, name: name, address: address, meta: meta)
    }

    mutating func expireSuspicions(now: Instant, _ out: inout [Directive]) {
        guard !suspicions.isEmpty else { return }
        for (suspect, suspicion) in suspicions where suspicion.deadline <= now {
            suspicions[suspect] = nil
            guard let i = index[suspect], nodes[i].status == .suspect,
                  nodes[i].incarnation == suspicion.incarnation else { continue }
            handleDead(SWIM.Accusation(incarnation: suspicion.incarnation, name: suspect, from: name), now: now, &out)
        }
    }

    /// Removes members that have been failed or left for the reap interval.
    mutating func reap(now: Instant, _ out: inout [Directive]) {
        var i = 0
        while i < nodes.count {
            let m = nodes[i]
            if !m.status.isLive && m.name != name && now - m.since >= settings.reapInterval {
                remove(at: i)
                out.append(.event(.reaped(m)))
            } else {
                i += 1
            }
        }
    }

    // MARK: - Dissemination (SWIM 4.1)

    /// The gossip tick: queued updates go to a few random members, and to
    /// members that died recently so that they can refute.
    mutating func gossip(now: Instant, _ out: inout [Directive]) {
        guard !broadcasts.isEmpty else { return }
        let deadWindow = settings.gossipToTheDead
        let targets = randomMembers(settings.gossipNodes) { m in
            m.status.isLive || now - m.since <= deadWindow
        }
        let budget = settings.packetSize - SWIM.WireCodec.compoundOverhead(parts: 0)
        for target in targets {
            let parts = broadcasts.take(budget: budget, overheadPerMessage: 2, limit: retransmitLimit)
            guard !parts.isEmpty else { break }
            out.append(.send(SWIM.WireCodec.packet(parts), to: target.address))
        }
    }

    /// Queues a user broadcast (the layer above's own messages) for gossip.
    /// A later broadcast with the same `key` replaces one still queued
    /// (newer news about the same thing); nil keys never replace.
    public mutating func broadcast(user bytes: [UInt8], key: String? = nil) {
        userBroadcastCounter += 1
        enqueue(.user(bytes), about: "\u{0}user:" + (key ?? "#\(userBroadcastCounter)"))
    }

    // MARK: - Our own state

    /// Announces new metadata (tags) with a higher incarnation.
    public mutating func updateMeta(_ newMeta: [UInt8]) {
        meta = Array(newMeta.prefix(settings.metaLimit))
        incarnation &+= 1
        if let i = index[name] {
            nodes[i].meta = meta
            nodes[i].incarnation = incarnation
        }
        enqueue(.alive(selfAlive), about: name)
    }

    /// Graceful leave: the intent is gossiped and sent at once to a few
    /// members; peers then report this node `left`, not failed. The shell
    /// keeps ticking for a short while so the news spreads, then stops.
    public mutating func leave(now: Instant) -> [Directive] {
        guard !isLeaving else { return [] }
        isLeaving = true
        probe = nil
        var out: [Directive] = []
        let intent = SWIM.Accusation(incarnation: incarnation, name: name, from: name)
        handleDead(intent, now: now, &out)
        let targets = randomMembers(settings.gossipNodes * 2) { $0.status == .alive }
        for target in targets { send(.dead(intent), to: target.address, &out) }
        return out
    }

    /// Marks a failed member as left, so it is reaped and no longer reported
    /// failed (Consul's force-leave). Live members are not touched.
    public mutating func forceLeave(_ node: String, now: Instant) -> [Directive] {
        guard let i = index[node], nodes[i].status == .dead else { return [] }
        var out: [Directive] = []
        handleDead(SWIM.Accusation(incarnation: nodes[i].incarnation, name: node, from: node), now: now, &out)
        return out
    }
}
