import CSystem
import Glibc
import Sockets
import Synchronization

/// The current `DNSSnapshot`: the agent's loop replaces it, the DNS loop
/// reads it. A read takes a lock for the time of a pointer copy.
public final class DNSSnapshotHolder: Sendable {
    private let current: Mutex<DNSSnapshot>

    public init(_ snapshot: DNSSnapshot = .empty) { current = Mutex(snapshot) }

    public var snapshot: DNSSnapshot { current.withLock { $0 } }
    public func replace(_ snapshot: DNSSnapshot) { current.withLock { $0 = snapshot } }
}

/// Carries a query to another datacenter (through the agent's federation,
/// on the agent's loop) and brings the outcome back to the DNS loop.
public struct DNSRemote: Sendable {
    public enum Outcome: Sendable {
        case answer([UInt8])
        /// No such datacenter is known.
        case noPath
        case failed
    }

    public let send: @Sendable (_ packet: [UInt8], _ datacenter: String, _ tcp: Bool,
                                _ done: @escaping @Sendable (Outcome) -> Void) -> Void

    public init(send: @escaping @Sendable ([UInt8], String, Bool, @escaping @Sendable (Outcome) -> Void) -> Void) {
        self.send = send
    }
}

/// A loop-confined value handed across threads; only touched on its loop.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
}

/// DNS over UDP and TCP on one port (RFC 1035 §4.2; TCP framing with a
/// 2-byte length, several queries per connection, RFC 7766). UDP reads
/// and writes go in batches (recvmmsg/sendmmsg). Loop-confined.
public final class DNSServer {
    public let endpoint: Endpoint
    private let loop: EventLoop
    private let udp: Socket
    private var tcp: TCPListener?
    private let holder: DNSSnapshotHolder
    private var responder: DNSResponder
    private var forwarder: DNSForwarder?
    private let remote: DNSRemote?
    private var connections = 0
    private var batch: DatagramBatch
    let counters: DNSCounters
    /// The loop's handlers hold the server until `close()`.
    private var keepSelfAlive: DNSServer?

    /// Most TCP clients served at once; more are closed on accept.
    public static let connectionLimit = 512
    /// A TCP client that sends nothing for this long is closed (RFC 7766 §6.2.3).
    public static let idleTimeout: Duration = .seconds(10)
    /// Largest UDP query read; a longer datagram is dropped unanswered.
    static let querySlot = 4096

    public init(bind: Endpoint, settings: DNSResponderSettings, recursors: [Endpoint] = [],
                recursorTimeout: Duration = .seconds(2), remote: DNSRemote? = nil, holder: DNSSnapshotHolder,
                loop: EventLoop, counters: DNSCounters = DNSCounters()) throws(SocketError) {
        self.loop = loop
        self.counters = counters
        self.remote = remote
        self.holder = holder
        responder = DNSResponder(settings: settings, seed: UInt64(truncatingIfNeeded: Instant.monotonicNow().nanoseconds))
        batch = DatagramBatch(slot: max(Self.querySlot, settings.maxUDPSize))
        udp = try Socket.udp(family: AddressFamily.of(bind))
        do {
            try udp.bind(bind)
        } catch {
            udp.close()
            throw error
        }
        // Port 0 binds UDP first and TCP then takes the same port.
        endpoint = udp.localEndpoint() ?? bind
        do {
            tcp = try TCPListener(bind: endpoint, loop: loop) { [unowned self] socket, peer in accept(socket, peer) }
        } catch {
            udp.close()
            throw error
        }
        if !recursors.isEmpty {
            forwarder = try DNSForwarder(recursors: recursors, timeout: recursorTimeout, loop: loop)
        }
        loop.register(udp.fd, events: EventLoop.readable) { [unowned self] _ in readDatagrams() }
        keepSelfAlive = self
    }

    /// A reload's new `dns_config` and recursors: answers from now on use
    /// them (the answer cache goes with the old responder); queries
    /// waiting on the old recursors are dropped, as if they had timed out.
    func apply(settings: DNSResponderSettings, recursors: [Endpoint], recursorTimeout: Duration) throws(SocketError) {
        let next = recursors.isEmpty ? nil : try DNSForwarder(recursors: recursors, timeout: recursorTimeout, loop: loop)
        forwarder?.close()
        forwarder = next
        responder = DNSResponder(settings: settings, seed: UInt64(truncatingIfNeeded: Instant.monotonicNow().nanoseconds))
        if settings.maxUDPSize > batch.slot { batch = DatagramBatch(slot: settings.maxUDPSize) }
    }

    public func close() {
        loop.deregister(udp.fd)
        udp.close()
        tcp?.close()
        tcp = nil
        forwarder?.close()
        keepSelfAlive = nil
    }

    // MARK: - UDP

    private func readDatagrams() {
        // Bounded: other sockets on the loop get their turn.
        for _ in 0..<16 {
            let received = batch.receive(from: udp.fd)
            guard received > 0 else { return }
            let started = Instant.monotonicNow()
            var tally = DNSCounters.Tally()
            let snapshot = holder.snapshot
            var replies = 0
            for i in 0..<received {
                guard let query = batch.datagram(i) else {
                    continue
                }
                switch responder.respond(to: query, snapshot: snapshot, transport: .udp) {
                case .reply(let bytes):
                    batch.setReply(replies, bytes: bytes, addressOf: i)
                    replies += 1
                    tally.reply(bytes)
                case .forward(let message):
                    tally.forwarded += 1
                    guard let client = batch.peer(i) else { continue }
                    forward(message, original: query, to: .udp(client))
                case .forwardToDatacenter(let dc):
                    tally.forwarded += 1
                    guard let client = batch.peer(i) else { continue }
                    askDatacenter(dc, query, for: .udp(client))
                case .drop:
                    tally.dropped += 1
                    continue
                }
            }
            batch.send(replies, on: udp.fd)
            counters.add(tally, seconds: (Instant.monotonicNow() - started).seconds)
            if received < batch.count { return }
        }
    }

    // MARK: - TCP

    private func accept(_ socket: Socket, _ peer: Endpoint?) {
        guard connections < Self.connectionLimit else {
            Log.debug("dns", "TCP connection from \(peer.map(String.init(describing:)) ?? "?") refused: \(Self.connectionLimit) open")
            return socket.close()
        }
        connections += 1
        let connection = TCPConnection(accepted: socket, peer: peer, loop: loop, idleTimeout: Self.idleTimeout)
        var pending: [UInt8] = []
        connection.onBytes = { [unowned self] connection, bytes in
            pending.append(contentsOf: bytes)
            var offset = 0
            while pending.count - offset >= 2 {
                let length = Int(pending[offset]) << 8 | Int(pending[offset + 1])
                guard pending.count - offset - 2 >= length else { break }
                let query = Array(pending[(offset + 2)..<(offset + 2 + length)])
                offset += 2 + length
                answerStream(query, on: connection)
            }
            if offset > 0 { pending.removeFirst(offset) }
            // A client that sends queries and never reads the answers: stop
            // reading it until it has read them.
            if connection.pendingOutput > Self.tcpOutputLimit { connection.pauseReading() }
        }
        connection.onDrained = { connection in connection.resumeReading() }
        connection.onClose = { [weak self] _, _ in self?.connections -= 1 }
    }

    /// Answers queued on one TCP connection past which it is not read.
    static let tcpOutputLimit = 256 << 10

    private func answerStream(_ query: [UInt8], on connection: TCPConnection) {
        var tally = DNSCounters.Tally()
        defer { counters.add(tally, seconds: nil) }
        switch responder.respond(to: query, snapshot: holder.snapshot, transport: .tcp) {
        case .reply(let bytes):
            tally.reply(bytes)
            connection.write(Self.framed(bytes))
        case .forward(let message):
            tally.forwarded += 1
            forward(message, original: query, to: .tcp(connection))
        case .forwardToDatacenter(let dc):
            tally.forwarded += 1
            askDatacenter(dc, query, for: .tcp(connection))
        case .drop:
            tally.dropped += 1
            connection.close()
        }
    }

    static func framed(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
    }

    // MARK: - Recursion

    private func forward(_ message: DNSMessage, original: [UInt8], to client: DNSForwarder.Client) {
        guard let forwarder else { return }
        forwarder.forward(original, id: message.header.id) { [weak self] answer in
            self?.reply(answer ?? Self.serverFailure(message), to: client)
        }
    }

    // MARK: - Other datacenters

    private func askDatacenter(_ dc: String, _ query: [UInt8], for client: DNSForwarder.Client) {
        let tcp: Bool
        if case .tcp = client { tcp = true } else { tcp = false }
        guard let remote else { return reply(responder.datacenterFailure(query, noPath: true, transport: .udp), to: client) }
        let me = LoopBound(value: (self, client)), loop = self.loop
        remote.send(query, dc, tcp) { outcome in
            loop.execute {
                let (server, client) = me.value
                switch outcome {
                case .answer(let bytes): server.reply(bytes, to: client)
                case .noPath, .failed:
                    var isNoPath = false
                    if case .noPath = outcome { isNoPath = true }
                    server.reply(server.responder.datacenterFailure(query, noPath: isNoPath, transport: tcp ? .tcp : .udp), to: client)
                }
            }
        }
    }

    private func reply(_ bytes: [UInt8]?, to client: DNSForwarder.Client) {
        guard let bytes else { return }
        switch client {
        case .udp(let peer): bytes.withUnsafeBytes { _ = udp.sendTo($0, peer) }
        case .tcp(let connection): connection.write(Self.framed(bytes))
        }
    }

    /// SERVFAIL when no recursor answered.
    static func serverFailure(_ query: DNSMessage) -> [UInt8] {
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = true
        header.rcode = .servFail
        return DNSMessage(header: header, questions: query.questions).encode().bytes
    }
}
