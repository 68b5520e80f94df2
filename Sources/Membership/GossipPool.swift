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
    public private(set) var instance: SWIM.Instance
    public weak var delegate: GossipPoolDelegate?
    private let loop: EventLoop
    private let udp: Socket
    private var listener: TCPListener?
    private var wakeTimer: TimerID?
    private var armedFor: Instant?
    private var receiveBuffer = [UInt8](repeating: 0, count: 65536)
    /// push/pull exchanges in flight, bounded so a flood cannot exhaust descriptors.
    private var exchanges = 0
    private static let maxExchanges = 128
    private static let frameLimit = 64 << 20
    public private(set) var droppedPackets = 0

    /// Binds UDP and TCP on `bind` and starts the protocol. `advertise` is
    /// the address peers use to reach us (the bind address unless it is 0.0.0.0).
    public init(label: String, name: String, bind: Endpoint, advertise: Endpoint, meta: [UInt8],
                settings: SWIM.Settings, loop: EventLoop) throws(SocketError) {
        self.label = label
        self.loop = loop
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
    public var userBroadcastLimit: Int { instance.settings.packetSize - 64 }

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

    private func perform(_ directives: [SWIM.Directive]) {
        for directive in directives {
            switch directive {
            case .send(let bytes, let target):
                _ = bytes.withUnsafeBytes { udp.sendTo($0, target) }
            case .pushPull(let peer, let join):
                exchange(with: peer, join: join) { [label] error in
                    if let error { Log.debug("memberlist.\(label)", "push/pull with \(peer) failed: \(error)") }
                }
            case .event(let event):
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
            self.perform(self.instance.tick(now: self.loop.now()))
        }
    }

    private func readDatagrams() {
        var out: [SWIM.Directive] = []
        let now = loop.now()
        for _ in 0..<64 {
            let received = receiveBuffer.withUnsafeMutableBytes { udp.receiveFrom($0) }
            guard let (n, sender) = received else { break }
            guard let sender else { continue }
            if let problem = instance.receive(Array(receiveBuffer[0..<n]), from: sender, now: now, into: &out) {
                droppedPackets += 1
                Log.debug("memberlist.\(label)", problem)
            }
        }
        perform(out)
    }

    // MARK: - push/pull over TCP

    private func exchange(with peer: Endpoint, join: Bool, completion: @escaping (String?) -> Void) {
        guard exchanges < Self.maxExchanges else { return completion("too many exchanges in flight") }
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(to: peer, loop: loop, timeout: instance.settings.tcpTimeout,
                                                   idleTimeout: instance.settings.tcpTimeout)
        } catch {
            return completion("\(error)")
        }
        exchanges += 1
        var reader = FrameReader(limit: Self.frameLimit)
        var finished = false
        func finish(_ error: String?) {
            guard !finished else { return }
            finished = true
            exchanges -= 1
            completion(error)
        }
        connection.onConnected = { [unowned self] conn in
            let user = delegate?.localState(join: join, answering: nil) ?? []
            conn.write(FrameReader.frame(instance.pushPullPayload(join: join, userState: user)))
        }
        connection.onBytes = { [unowned self] conn, bytes in
            switch reader.append(bytes) {
            case .needMore: return
            case .tooLarge(let n):
                finish("push/pull frame of \(n) bytes refused")
                conn.close()
            case .frame(let payload):
                // Finish before closing: closing reports "closed before answering".
                if case .failure(let problem) = merge(payload, from: peer) { finish(problem.text) } else { finish(nil) }
                conn.close()
            }
        }
        connection.onClose = { _, error in
            finish(error.map { "\($0)" } ?? "closed before answering")
        }
    }

    private func acceptExchange(_ socket: Socket, peer: Endpoint?) {
        guard exchanges < Self.maxExchanges else {
            socket.close()
            return
        }
        exchanges += 1
        let connection = TCPConnection(accepted: socket, peer: peer, loop: loop, idleTimeout: instance.settings.tcpTimeout)
        var reader = FrameReader(limit: Self.frameLimit)
        var answered = false
        connection.onBytes = { [unowned self] conn, bytes in
            guard !answered else { return }
            switch reader.append(bytes) {
            case .needMore: return
            case .tooLarge(let n):
                Log.warn("memberlist.\(label)", "refused push/pull frame of \(n) bytes from \(peer.map { "\($0)" } ?? "?")")
                conn.close()
            case .frame(let payload):
                answered = true
                let join = payload.count > 2 && payload[2] != 0
                let request: [UInt8]
                switch merge(payload, from: peer) {
                case .failure(let problem):
                    Log.warn("memberlist.\(label)", problem.text)
                    return conn.close()
                case .success(let userState):
                    request = userState
                }
                // Answer after merging, so refutations the request caused
                // (a healed partition, a restarted peer) travel back at once.
                let user = delegate?.localState(join: join, answering: request) ?? []
                conn.write(FrameReader.frame(instance.pushPullPayload(join: join, userState: user)))
                conn.closeWhenFlushed()
            }
        }
        connection.onClose = { [unowned self] _, _ in exchanges -= 1 }
    }

    struct BadPayload: Error { let text: String }

    /// Merges a push/pull payload; gives the peer's user state, or why the
    /// payload was bad.
    private func merge(_ payload: [UInt8], from peer: Endpoint?) -> Result<[UInt8], BadPayload> {
        var out: [SWIM.Directive] = []
        let result = instance.mergePushPull(payload, now: loop.now(), into: &out)
        perform(out)
        switch result {
        case .success(let (userState, join)):
            if !userState.isEmpty { delegate?.mergeRemoteState(userState, join: join) }
            return .success(userState)
        case .failure(let error):
            return .failure(BadPayload(text: "\(error) from \(peer.map { "\($0)" } ?? "?")"))
        }
    }
}
