import Glibc
import Primitives

extension SWIM.Instance {
    public typealias Directive = SWIM.Directive

    /// Runs every timer that is due: probe rounds, indirect probes,
    /// suspicion timeouts, gossip, push/pull and reaping.
    public mutating func tick(now: Instant) -> [Directive] {
        var out: [Directive] = []
        if !isLeaving {
            if now >= nextProbeAt {
                finishProbe(now: now, &out)
                startProbe(now: now, &out)
                nextProbeAt = now + awareness.scale(settings.probeInterval)
            }
            if let p = probe, !p.acked, !p.indirectSent, now >= p.timeoutAt {
                sendIndirectProbes(now: now, &out)
            }
        }
        expireRelays(now: now, &out)
        expireSuspicions(now: now, &out)
        if now >= nextGossipAt {
            gossip(now: now, &out)
            lastGossipAt = now
            nextGossipAt = now + settings.gossipInterval
        }
        if !isLeaving && now >= nextPushPullAt {
            nextPushPullAt = now + pushPullInterval
            if let peer = randomMembers(1, where: { $0.status == .alive }).first {
                out.append(.pushPull(with: peer.address, join: false))
            }
        }
        if !isLeaving && now >= nextReconnectAt {
            nextReconnectAt = now + settings.reconnectInterval
            if let lost = randomMembers(1, where: { $0.status == .dead }).first {
                out.append(.pushPull(with: lost.address, join: false))
            }
        }
        if now >= nextReapAt {
            reap(now: now, &out)
            nextReapAt = now + Self.reapCheckInterval(settings)
        }
        return out
    }

    /// Push/pull interval scaled for large pools, as memberlist's pushPullScale.
    var pushPullInterval: Duration {
        let n = liveCount
        guard n > 32 else { return settings.pushPullInterval }
        let factor = ceil(log2(Double(n)) - log2(32.0)) + 1
        return settings.pushPullInterval * factor
    }

    /// Decodes one datagram and handles each message in it. Malformed
    /// packets are dropped; the error is returned for the shell to log.
    @discardableResult
    public mutating func receive(_ packet: [UInt8], from sender: Endpoint, now: Instant,
                                 into out: inout [Directive]) -> String? {
        let messages: [SWIM.Message]
        do {
            messages = try SWIM.WireCodec.decodePacket(packet)
        } catch {
            return "dropped \(packet.count)-byte packet from \(sender): \(error)"
        }
        let companions = SWIM.Companions(messages)
        for message in messages { handle(message, from: sender, now: now, companions, &out) }
        return nil
    }

    public mutating func receive(_ packet: [UInt8], from sender: Endpoint, now: Instant) -> [Directive] {
        var out: [Directive] = []
        receive(packet, from: sender, now: now, into: &out)
        return out
    }

    mutating func handle(_ message: SWIM.Message, from sender: Endpoint, now: Instant,
                         _ companions: SWIM.Companions, _ out: inout [Directive]) {
        switch message {
        case .ping(let ping):
            // A ping meant for a previous owner of this address is not ours to answer.
            guard ping.target == name, !isLeaving else { return }
            answer(ping, to: sender, withCoordinate: sharesCoordinate(asked: companions.coordinateRequested), &out)
            compareViews(ping.senderLiveMembers, with: sender, now: now, &out)
        case .indirectPing(let request):
            relay(request, requester: sender, now: now, &out)
        case .ack(let sequence, let liveMembers):
            handleAck(sequence, now: now, reported: companions.coordinate, &out)
            compareViews(liveMembers, with: sender, now: now, &out)
        case .nack(let sequence):
            if probe?.sequence == sequence { probe?.nacks += 1 }
        case .alive(let alive):
            counters.aliveMessages += 1
            handleAlive(alive, now: now, &out)
        case .suspect(let accusation):
            counters.suspectMessages += 1
            handleSuspect(accusation, now: now, &out)
        case .dead(let accusation):
            counters.deadMessages += 1
            handleDead(accusation, now: now, &out)
        case .user(let bytes):
            out.append(.userMessage(bytes))
        case .coordinateRequest, .coordinate:
            break  // read with the ping or ack they came with (`Companions`)
        }
    }

    // MARK: - Probing (SWIM 4.3, Lifeguard IV.A)

    /// Acks a ping. If the prober's view of us is stale (an older
    /// incarnation, or a suspicion) the ack carries our alive message, so
    /// a refutation that gossip failed to deliver still arrives. The ack
    /// of a direct probe carries our coordinate when `withCoordinate`.
    mutating func answer(_ ping: SWIM.Ping, to sender: Endpoint, withCoordinate: Bool, _ out: inout [Directive]) {
        let known = ping.targetIncarnation
        var head: [SWIM.Message] = [.ack(sequence: ping.sequence, liveMembers: UInt32(liveCount))]
        // UInt32.max: a relay's ping, which carries no view (and whose round trip nobody uses).
        guard known != UInt32.max else { return send(head, to: sender, &out) }
        if withCoordinate { head.append(.coordinate(vivaldi.coordinate)) }
        if ping.suspectsTarget || known != incarnation {
            if known > incarnation || (ping.suspectsTarget && known == incarnation) {
                refute(observed: known)
            }
            head.append(.alive(selfAlive))
        }
        send(head, to: sender, &out)
    }

    /// Picks the next member in randomized round-robin order and pings it.
    /// While we suspect members, a round goes to one of them with
    /// probability min(1, 8 / N), so that about eight members re-probe a
    /// suspect each second whatever the pool size: the direct exchange
    /// settles the suspicion quickly either way (a refutation in the ack,
    /// or an independent confirmation).
    mutating func startProbe(now: Instant, _ out: inout [Directive]) {
        probe = nil
        guard nodes.count > 1 else { return }
        if !suspicions.isEmpty, Double.random(in: 0..<1, using: &random) < 8 / Double(max(liveCount, 1)),
           let suspect = suspicions.keys.randomElement(using: &random),
           let i = index[suspect], nodes[i].status == .suspect {
            return ping(nodes[i], now: now, &out)
        }
        for _ in 0..<nodes.count {
            if probeCursor >= nodes.count {
                shuffleProbeOrder()
                probeCursor = 0
            }
            let candidate = nodes[probeCursor]
            probeCursor += 1
            guard candidate.name != name, candidate.status.isLive else { continue }
            return ping(candidate, now: now, &out)
        }
    }

    mutating func ping(_ target: SWIM.Member, now: Instant, _ out: inout [Directive]) {
        let sequence = nextSequence()
        probe = ProbeInFlight(sequence: sequence, target: target.name, sentAt: now,
                              timeoutAt: now + awareness.scale(settings.probeTimeout))
        let message = SWIM.Ping(sequence: sequence, target: target.name, source: name,
                                targetIncarnation: target.incarnation, suspectsTarget: target.status == .suspect,
                                senderLiveMembers: UInt32(liveCount))
        let asks = asksForCoordinate(of: target.name, now: now)
        send(asks ? [.ping(message), .coordinateRequest] : [.ping(message)], to: target.address, &out)
    }

    /// At the end of a probe interval: an unanswered target becomes suspect.
    mutating func finishProbe(now: Instant, _ out: inout [Directive]) {
        guard let p = probe else { return }
        probe = nil
        if !p.acked { counters.probeTimes.record((now - p.sentAt).seconds) }
        if p.acked {
            awareness.apply(-1)
            return
        }
        // Lifeguard: missing nacks mean our own links may be the problem.
        awareness.apply(p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1)
        guard let i = index[p.target], nodes[i].status.isLive else { return }
        handleSuspect(SWIM.Accusation(incarnation: nodes[i].incarnation, name: p.target, from: name), now: now, &out)
    }

    mutating func sendIndirectProbes(now: Instant, _ out: inout [Directive]) {
        guard var p = probe, let i = index[p.target] else { return }
        let target = nodes[i]
        let helpers = randomMembers(settings.indirectChecks) { $0.status == .alive && $0.name != target.name }
        p.indirectSent = true
        p.expectedNacks = helpers.count
        probe = p
        let request = SWIM.IndirectPing(sequence: p.sequence, target: target.name,
                                        targetAddress: target.address, wantsNack: true, source: name)
        for helper in helpers { send(.indirectPing(request), to: helper.address, &out) }
    }

    mutating func relay(_ request: SWIM.IndirectPing, requester: Endpoint, now: Instant, _ out: inout [Directive]) {
        guard !isLeaving, relays.count < 1024 else { return }
        let sequence = nextSequence()
        relays[sequence] = Relay(requester: requester, originalSequence: request.sequence,
                                 wantsNack: request.wantsNack, deadline: now + settings.probeTimeout)
        // The relay has no view of its own to offer: it asks for a plain ack.
        send(.ping(SWIM.Ping(sequence: sequence, target: request.target, source: name,
                             targetIncarnation: UInt32.max, suspectsTarget: false)),
             to: request.targetAddress, &out)
    }

    mutating func handleAck(_ sequence: UInt32, now: Instant, reported: Vivaldi.Coordinate? = nil,
                            _ out: inout [Directive]) {
        if let relay = relays.removeValue(forKey: sequence) {
            send(.ack(sequence: relay.originalSequence, liveMembers: 0), to: relay.requester, &out)
            return
        }
        guard var p = probe, p.sequence == sequence, !p.acked else { return }
        p.acked = true
        probe = p
        counters.probeTimes.record((now - p.sentAt).seconds)
        // Only a direct exchange measures the path to the target (Serf's NotifyPingComplete).
        guard !p.indirectSent, let i = index[p.target] else { return }
        let rtt = now - p.sentAt
        nodes[i].roundTrip = rtt
        observeRoundTrip(to: p.target, rtt, reported: reported)
    }

    /// Anti-entropy on demand: every ping and ack says how many live
    /// members its sender knows. A peer that knows more than we do has news
    /// that gossip failed to bring us (epidemic gossip misses a member now
    /// and then: each update is sent a bounded number of times), so we
    /// pull its full state, at most once per `viewSyncCooldown`.
    mutating func compareViews(_ peerLive: UInt32, with peer: Endpoint, now: Instant, _ out: inout [Directive]) {
        guard !isLeaving, Int(peerLive) > liveCount, now >= nextViewSyncAt else { return }
        nextViewSyncAt = now + settings.viewSyncCooldown
        out.append(.pushPull(with: peer, join: false))
    }

    mutating func expireRelays(now: Instant, _ out: inout [Directive]) {
        guard !relays.isEmpty else { return }
        for (sequence, relay) in relays where relay.deadline <= now {
            relays[sequence] = nil
            if relay.wantsNack { send(.nack(sequence: relay.originalSequence), to: relay.requester, &out) }
        }
    }

    mutating func shuffleProbeOrder() {
        nodes.shuffle(using: &random)
        for (i, m) in nodes.enumerated() { index[m.name] = i }
    }
}
