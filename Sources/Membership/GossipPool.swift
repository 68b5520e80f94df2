import Glibc
import Sockets

/// The seam between a gossip pool and the layer above (memberlist's
/// Delegate): node metadata goes in through `GossipPool.updateMeta`,
/// everything else flows through these calls, on the pool's loop thread.
public protocol GossipPoolDelegate: AnyObject {
    /// State of the layer above to send in a push/pull exchange: in a
    /// request (`request` nil), or in the answer to `request`, the
    /// requester's state (already merged), so the answer can carry what
    /// the requester lacks.
    func localState(join: Bool, answering request: [UInt8]?) -> [UInt8]
    /// A peer's state of the layer above, received by push/pull.
    func mergeRemoteState(_ state: [UInt8], join: Bool)
    func membershipChanged(_ event: SWIM.MemberEvent)
    func userMessageReceived(_ bytes: [UInt8])
}

/// The I/O shell of one gossip pool: UDP for gossip and TCP push/pull on
/// the same port, feeding a `SWIM.Instance` on one event loop. All methods
/// MUST be called on that loop's thread.
public final class GossipPool {
    public let label: String
    public internal(set) var instance: SWIM.Instance
    public weak var delegate: GossipPoolDelegate?
    let loop: EventLoop
    private let udp: Socket
    private var listener: TCPListener?
    private var wakeTimer: TimerID?
    private var armedFor: Instant?
    private var receiveBuffer = [UInt8](repeating: 0, count: 65536)
    /// push/pull exchanges in flight, bounded so a flood cannot exhaust descriptors.
    public internal(set) var exchanges = 0
    static let maxExchanges = 128
    static let frameLimit = 64 << 20
    /// Push/pull frames being received, all exchanges together, hold at
    /// most this many bytes (announced lengths are reserved up front; an
    /// exchange that does not fit is refused): 128 exchanges of 64 MiB
    /// could otherwise ask for 8 GiB.
    static let receiveBudget = 128 << 20
    var receiveBudgetLeft = GossipPool.receiveBudget
    /// Exchanges refused because their frame did not fit `receiveBudget`.
    public internal(set) var exchangesOverBudget = 0
    public internal(set) var droppedPackets = 0
    /// Bytes and streams on the wire (the instance counts messages).
    var wireCounters = GossipCounters()
    /// Everything counted for metrics, cumulative.
    public var counters: GossipCounters {
        var c = instance.counters
        c.udpSentBytes = wireCounters.udpSentBytes
        c.udpSentPackets = wireCounters.udpSentPackets
        c.udpReceivedBytes = wireCounters.udpReceivedBytes
        c.udpReceivedPackets = wireCounters.udpReceivedPackets
        c.tcpSentBytes = wireCounters.tcpSentBytes
        c.tcpConnects = wireCounters.tcpConnects
        c.tcpAccepts = wireCounters.tcpAccepts
        (c.memberJoins, c.memberLeaves, c.memberFailures) = (wireCounters.memberJoins, wireCounters.memberLeaves, wireCounters.memberFailures)
        (c.memberUpdates, c.memberFlaps) = (wireCounters.memberUpdates, wireCounters.memberFlaps)
        c.gossipTimes = wireCounters.gossipTimes
        return c
    }
    /// When members failed, for Serf's flap count (pruned after a minute).
    private var failedAt: [String: Instant] = [:]

    private func countEvent(_ event: SWIM.MemberEvent) {
        let now = loop.now()
        switch event {
        case .joined(let m):
            wireCounters.memberJoins += 1
            if let failed = failedAt.removeValue(forKey: m.name), now - failed < .seconds(60) { wireCounters.memberFlaps += 1 }
        case .updated: wireCounters.memberUpdates += 1
        case .left(let m):
            wireCounters.memberLeaves += 1
            failedAt[m.name] = nil
        case .failed(let m):
            wireCounters.memberFailures += 1
            failedAt = failedAt.filter { now - $0.value < .seconds(60) }
            failedAt[m.name] = now
        case .reaped(let m): failedAt[m.name] = nil
        }
    }
    /// Keys and verify settings; the keyring changes by rotation and
    /// replication, never from on to off.
    public internal(set) var encryption: GossipEncryption
    /// Called when the keyring changes (an operation here, or a newer ring
    /// learnt from a peer), so the layer above can persist it.
    public var onKeyringChange: ((Keyring) -> Void)?
    /// Messages refused by the encryption rules, by reason (`GossipSeal.Refusal.label`).
    public internal(set) var refusedMessages: [String: Int] = [:]
    var refusalLog = LogLimiter()

    /// Binds UDP and TCP on `bind` and starts the protocol. `advertise` is
    /// the address peers use to reach us (the bind address unless it is 0.0.0.0).
    public init(label: String, name: String, bind: Endpoint, advertise: Endpoint, meta: [UInt8],
                settings: SWIM.Settings, encryption: GossipEncryption = .off, loop: EventLoop) throws(SocketError) {
        self.label = label
        self.loop = loop
        self.encryption = encryption
        var settings = settings
        // Sealed packets must still fit the MTU.
        if encryption.isOn { settings.packetSize -= GossipSeal.overhead }
        var seed = SystemRandomNumberGenerator()
        instance = SWIM.Instance(name: name, address: advertise, meta: meta, settings: settings,
                                 seed: seed.next(), now: loop.now())
        udp = try Socket.udp(family: AddressFamily.of(bind))
        do {
            try udp.bind(bind)
        } catch {
            udp.close()
            throw error
        }
        udp.setOption(SOL_SOCKET, SO_RCVBUF, 4 << 20)
        loop.register(udp.fd, events: EventLoop.readable) { [unowned self] _ in self.readDatagrams() }
        listener = try TCPListener(bind: bind, loop: loop) { [unowned self] socket, peer in
            self.acceptExchange(socket, peer: peer)
        }
        rearm()
    }

    public var members: [SWIM.Member] { instance.members }

    /// This node's network coordinate, and the last one heard of each member.
    public var coordinate: Vivaldi.Coordinate { instance.coordinate }
    public func coordinate(of member: String) -> Vivaldi.Coordinate? { instance.coordinate(of: member) }

    /// Replaces a member's coordinate (`SWIM.Instance.setCoordinate`).
    @discardableResult
    public func setCoordinate(_ coordinate: Vivaldi.Coordinate, of member: String) throws(Vivaldi.Rejection) -> Bool {
        try instance.setCoordinate(coordinate, of: member)
    }

    /// Joins through the given addresses; `completion` gets how many answered.
    public func join(_ addresses: [Endpoint], completion: @escaping (Int, [String]) -> Void) {
        guard !addresses.isEmpty else { return completion(0, []) }
        var pending = addresses.count, successes = 0
        var errors: [String] = []
        for address in addresses {
            exchange(with: address, join: true) { error in
                if let error { errors.append("\(address): \(error)") } else { successes += 1 }
                pending -= 1
                if pending == 0 { completion(successes, errors) }
            }
        }
    }

    public func updateMeta(_ meta: [UInt8]) {
        instance.updateMeta(meta)
        rearm()
    }

    public func broadcast(user bytes: [UInt8], key: String? = nil) {
        instance.broadcast(user: bytes, key: key)
        rearm()
    }

    /// Largest user broadcast that fits in one gossip packet.
    public var userBroadcastLimit: Int { instance.settings.userBroadcastLimit }

    /// Starts a push/pull exchange with `peer` (full state both ways).
    public func sync(with peer: Endpoint) {
        perform([.pushPull(with: peer, join: false)])
    }

    public func forceLeave(_ node: String) -> Bool {
        guard instance.member(named: node)?.status == .dead else { return false }
        perform(instance.forceLeave(node, now: loop.now()))
        return true
    }

    /// Announces a graceful leave, keeps gossiping for `propagation`, then
    /// closes the sockets and calls `completion`.
    public func leave(propagation: Duration, completion: @escaping () -> Void) {
        perform(instance.leave(now: loop.now()))
        loop.schedule(after: propagation) { [self] in
            shutdown()
            completion()
        }
    }

    public func shutdown() {
        if let t = wakeTimer { loop.cancel(t) }
        wakeTimer = nil
        listener?.close()
        listener = nil
        loop.deregister(udp.fd)
        udp.close()
    }

    // MARK: - Feeding the instance

    func perform(_ directives: [SWIM.Directive]) {
        for directive in directives {
            switch directive {
            case .send(let bytes, let target):
                guard let wire = sealedForSending(bytes) else { continue }
                _ = wire.withUnsafeBytes { udp.sendTo($0, target) }
                wireCounters.udpSentBytes += wire.count
                wireCounters.udpSentPackets += 1
            case .pushPull(let peer, let join):
                exchange(with: peer, join: join) { [label] error in
                    if let error { Log.debug("memberlist.\(label)", "push/pull with \(peer) failed: \(error)") }
                }
            case .event(let event):
                countEvent(event)
                delegate?.membershipChanged(event)
            case .userMessage(let bytes):
                delegate?.userMessageReceived(bytes)
            }
        }
        rearm()
    }

    /// Keeps exactly one timer armed, for the instance's next deadline.
    private func rearm() {
        let next = instance.nextWakeup
        if armedFor == next, wakeTimer != nil { return }
        if let t = wakeTimer { loop.cancel(t) }
        armedFor = next
        let delay = next - loop.now()
        wakeTimer = loop.schedule(after: max(delay, .zero)) { [weak self] in
            guard let self else { return }
            self.wakeTimer = nil
            self.armedFor = nil
            let started = Instant.monotonicNow()
            self.perform(self.instance.tick(now: self.loop.now()))
            self.wireCounters.gossipTimes.record((Instant.monotonicNow() - started).seconds)
        }
    }

    private func readDatagrams() {
        var out: [SWIM.Directive] = []
        let now = loop.now()
        for _ in 0..<64 {
            let received = receiveBuffer.withUnsafeMutableBytes { udp.receiveFrom($0) }
            guard let (n, sender) = received else { break }
            guard let sender else { continue }
            wireCounters.udpReceivedBytes += n
            wireCounters.udpReceivedPackets += 1
            let packet: [UInt8]
            switch GossipSeal.open(Array(receiveBuffer[0..<n]), encryption) {
            case .plaintext(let bytes), .sealed(let bytes, _): packet = bytes
            case .refused(let why):
                refused(why, from: sender, over: "udp")
                continue
            }
            if let problem = instance.receive(packet, from: sender, now: now, into: &out) {
                droppedPackets += 1
                Log.debug("memberlist.\(label)", problem)
            }
        }
        perform(out)
    }

    // MARK: - Encryption

    /// `bytes` as they go on the wire: sealed under the primary key when
    /// outgoing encryption is on; nil (nothing may be sent) if sealing failed.
    func sealedForSending(_ bytes: [UInt8]) -> [UInt8]? {
        guard let key = encryption.sealingKey else { return bytes }
        guard let sealed = GossipSeal.seal(bytes, key: key) else {
            Log.error("memberlist.\(label)", "could not seal a gossip message (libcrypto failed): not sent")
            return nil
        }
        return sealed
    }

    /// Counts a refused message and logs it once per peer, reason and minute.
    func refused(_ why: GossipSeal.Refusal, from peer: Endpoint?, over transport: String) {
        refusedMessages[why.label, default: 0] += 1
        let who = peer.map { "\($0.ip)" } ?? "?"
        guard refusalLog.allow("\(who) \(why.label)", now: loop.now()) else { return }
        Log.warn("memberlist.\(label)", "refused \(transport) gossip from \(who): \(why.text) (logged once a minute per peer)")
    }

    /// Takes a peer's ring if it replaces ours (a rotation we missed).
    func adopt(_ ring: Keyring, from peer: Endpoint?) {
        guard let current = encryption.keyring, current.isSuperseded(by: ring) else { return }
        setKeyring(ring)
        Log.info("memberlist.\(label)", "keyring updated from \(peer.map { "\($0)" } ?? "a peer"): \(ring.keys.count) keys")
    }

    func setKeyring(_ ring: Keyring) {
        encryption.keyring = ring
        onKeyringChange?(ring)
    }
}
