import Crypto
import Sockets

/// Splits a TCP byte stream into RPC frames (u32 length + body).
struct RPCFramer {
    private var buffer: [UInt8] = []
    private var offset = 0

    enum Failure: Error { case tooLarge(Int) }

    /// Appends received bytes and returns the complete frame bodies.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> [[UInt8]] {
        buffer.append(contentsOf: bytes)
        var frames: [[UInt8]] = []
        while buffer.count - offset >= 4 {
            let length = Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3])
            guard length <= RPC.frameLimit else { throw .tooLarge(length) }
            guard buffer.count - offset - 4 >= length else { break }
            frames.append(Array(buffer[(offset + 4)..<(offset + 4 + length)]))
            offset += 4 + length
        }
        if offset > 0 && offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 1 << 16 {
            buffer.removeFirst(offset)
            offset = 0
        }
        return frames
    }

    /// Bytes received after the last complete frame (a tunnel's first raw
    /// bytes); the framer is empty afterwards.
    mutating func takeRemainder() -> [UInt8] {
        let rest = Array(buffer[offset...])
        buffer = []
        offset = 0
        return rest
    }

    /// Reads the first frame off `bytes` only: the frame body and what
    /// follows it (raw bytes once a tunnel is open).
    mutating func feedFirst(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> (frame: [UInt8], rest: [UInt8])? {
        buffer.append(contentsOf: bytes)
        guard buffer.count - offset >= 4 else { return nil }
        let length = Int(buffer[offset]) << 24 | Int(buffer[offset + 1]) << 16 | Int(buffer[offset + 2]) << 8 | Int(buffer[offset + 3])
        guard length <= RPC.frameLimit else { throw .tooLarge(length) }
        guard buffer.count - offset - 4 >= length else { return nil }
        let frame = Array(buffer[(offset + 4)..<(offset + 4 + length)])
        offset += 4 + length
        return (frame, takeRemainder())
    }
}

/// One reused connection to a server's RPC port, carrying many requests at
/// once (tagged by ID), each with its own deadline; at most
/// `inFlightLimit` at a time. Connects on first use and again after a
/// loss. Loop-confined.
final class RPCClient {
    let endpoint: Endpoint
    private let loop: EventLoop
    /// TLS to the server (`verify_outgoing`), and the name its certificate
    /// must carry (`verify_server_hostname`: `server.<dc>.<domain>`).
    private let tls: TLSContext?
    private let serverName: String?
    private var connection: TCPConnection?
    private var framer = RPCFramer()
    private var pending: [UInt64: (timer: TimerID, done: (RPC.Answer) -> Void)] = [:]
    private var nextID: UInt64 = 1
    static let inFlightLimit = 4096
    static let connectTimeout: Duration = .seconds(5)
    /// A connection with nothing in flight for this long is closed (and
    /// opened again on the next request): sooner than the server's
    /// `RPCServer.idleTimeout`, so the client, not a race, ends it.
    static let idleTimeout: Duration = .seconds(120)

    private let idleTimeout: Duration

    init(endpoint: Endpoint, loop: EventLoop, tls: TLSContext? = nil, serverName: String? = nil,
         idleTimeout: Duration = RPCClient.idleTimeout) {
        self.endpoint = endpoint
        self.idleTimeout = idleTimeout
        self.loop = loop
        self.tls = tls
        self.serverName = serverName
    }

    var inFlight: Int { pending.count }

    func send(_ envelope: RPC.Envelope, timeout: Duration, done: @escaping (RPC.Answer) -> Void) {
        guard pending.count < Self.inFlightLimit else {
            return done(.failure(RPC.Failure(.overloaded, "rpc: \(Self.inFlightLimit) requests in flight to \(endpoint)")))
        }
        guard let connection = connection ?? connect() else {
            return done(.failure(RPC.Failure(.connectionLost, "rpc: cannot connect to \(endpoint)")))
        }
        let id = nextID
        nextID += 1
        let timer = loop.schedule(after: timeout) { [weak self] in
            guard let self, let entry = pending.removeValue(forKey: id) else { return }
            if pending.isEmpty { self.connection?.resumeIdleTimeout() }
            entry.done(.failure(RPC.Failure(.timeout, "rpc: no answer from \(endpoint.description) in \(timeout)")))
        }
        // No bytes flow while a blocking query waits: not idle.
        if pending.isEmpty { connection.pauseIdleTimeout() }
        pending[id] = (timer, done)
        connection.write(RPC.encode(.request(id: id, envelope)))
    }

    func close() {
        connection?.close()
    }

    private func connect() -> TCPConnection? {
        guard let c = try? TCPConnection.connect(to: endpoint, loop: loop, timeout: Self.connectTimeout,
                                                 idleTimeout: idleTimeout) else { return nil }
        if let tls {
            do {
                c.secure(with: try TLSSession(context: tls, hostname: serverName))
            } catch {
                Log.warn("rpc", "cannot start TLS to \(endpoint): \(error)")
                c.close()
                return nil
            }
        }
        framer = RPCFramer()
        c.onBytes = { [weak self] c, bytes in
            guard let self, c === connection else { return }
            do {
                for body in try framer.feed(bytes) { receive(body) }
            } catch {
                Log.warn("rpc", "dropping connection to \(endpoint): oversized frame")
                c.close()
            }
        }
        c.onClose = { [weak self] c, error in
            guard let self, c === connection else { return }
            connection = nil
            if let error { Log.debug("rpc", "connection to \(endpoint) lost: \(error)") }
            failAll(RPC.Failure(.connectionLost, "rpc: connection to \(endpoint) lost"))
        }
        connection = c
        return c
    }

    private func receive(_ body: [UInt8]) {
        guard case .answer(let id, let answer)? = try? RPC.decode(body) else {
            return Log.debug("rpc", "dropped a malformed frame from \(endpoint)")
        }
        guard let entry = pending.removeValue(forKey: id) else { return }
        loop.cancel(entry.timer)
        if pending.isEmpty { connection?.resumeIdleTimeout() }
        entry.done(answer)
    }

    private func failAll(_ failure: RPC.Failure) {
        let all = pending
        pending = [:]
        for entry in all.values {
            loop.cancel(entry.timer)
            entry.done(.failure(failure))
        }
    }
}

/// Accepts RPC connections on the server port and hands each request to
/// `handler`, which answers once (possibly later: a blocking query).
/// Bounded: connections, requests in flight per connection, frame size.
final class RPCServer {
    typealias Handler = (RPC.Envelope, RPCPeer, _ reply: @escaping (RPC.Answer) -> Void) -> Void
    /// A tunnel request: the connection now belongs to the handler, with
    /// any raw bytes that came after the request.
    typealias TunnelHandler = (RPC.Envelope, _ id: UInt64, TCPConnection, _ rest: [UInt8], RPCPeer) -> Void

    let endpoint: Endpoint
    private var listener: TCPListener?
    private let loop: EventLoop
    private let handler: Handler
    var onTunnel: TunnelHandler?
    /// Connections open on the port now.
    public private(set) var connections = 0
    /// TLS on the port: a connection whose first byte opens a TLS record
    /// gets a handshake; with `tlsRequired` any other is closed.
    private let tls: TLSContext?
    private let tlsRequired: Bool
    private var refusalLog = LogLimiter()
    /// Plaintext connections closed on a TLS-only port, and failed handshakes.
    private(set) var refusedPlaintext = 0
    private(set) var failedHandshakes = 0
    static let handshakeTimeout: Duration = .seconds(10)
    /// A connection with no request in flight and no bytes for this long
    /// is closed. A blocking query in flight (up to 10 minutes) holds it
    /// open; a tunnel is the relay's to time out.
    static let idleTimeout: Duration = .seconds(300)
    /// Tunnels hold a connection each, so this is generous.
    static let connectionLimit = 8192
    static let inFlightLimit = 4096

    private let idleTimeout: Duration

    init(bind: Endpoint, loop: EventLoop, tls: TLSContext? = nil, tlsRequired: Bool = false,
         idleTimeout: Duration = RPCServer.idleTimeout, handler: @escaping Handler) throws(SocketError) {
        self.loop = loop
        self.idleTimeout = idleTimeout
        self.handler = handler
        self.tls = tls
        self.tlsRequired = tlsRequired
        endpoint = bind
        listener = try TCPListener(bind: bind, loop: loop) { [unowned self] socket, peer in accept(socket, peer) }
    }

    func close() {
        listener?.close()
        listener = nil
    }

    private func accept(_ socket: Socket, _ peer: Endpoint?) {
        guard connections < Self.connectionLimit else {
            Log.warn("rpc", "refused a connection from \(peer.map(String.init(describing:)) ?? "?"): \(Self.connectionLimit) open")
            return socket.close()
        }
        connections += 1
        let connection = TCPConnection(accepted: socket, peer: peer, loop: loop, idleTimeout: idleTimeout)
        connection.onClose = { [weak self] _, _ in self?.connections -= 1 }
        guard let tls else { return serve(connection, as: .plaintext(peer)) }
        let who = peer.map { "\($0.ip)" } ?? "?"
        // A TLS record starts 0x16 (handshake); an RPC frame's first byte is
        // the top byte of its length, which the frame limit keeps far below.
        connection.onBytes = { [unowned self] connection, bytes in
            guard bytes.first == 0x16 else {
                guard !tlsRequired else {
                    refusedPlaintext += 1
                    if refusalLog.allow("plaintext " + who, now: loop.now()) {
                        Log.warn("rpc", "closed a plaintext connection from \(who): the server port requires TLS (verify_incoming); logged once a minute per peer")
                    }
                    return connection.close()
                }
                serve(connection, as: .plaintext(peer))
                return connection.onBytes(connection, bytes)
            }
            let session: TLSSession
            do {
                session = try TLSSession(context: tls)
            } catch {
                Log.error("rpc", "cannot start TLS for \(who): \(error)")
                return connection.close()
            }
            let deadline = loop.schedule(after: Self.handshakeTimeout) { [weak connection] in connection?.close() }
            connection.onBytes = { _, _ in }
            connection.onClose = { [unowned self] _, error in
                loop.cancel(deadline)
                connections -= 1
                guard !session.isEstablished else { return }
                failedHandshakes += 1
                if refusalLog.allow("handshake " + who, now: loop.now()) {
                    Log.warn("rpc", "TLS handshake with \(who) failed: \(error.map { "\($0)" } ?? "closed"); logged once a minute per peer")
                }
            }
            connection.onSecured = { [unowned self] connection in
                loop.cancel(deadline)
                connection.onClose = { [weak self] _, _ in self?.connections -= 1 }
                serve(connection, as: RPCPeer(endpoint: peer, certificate: session.peerCertificate, secured: true))
            }
            connection.secure(with: session, received: bytes)
        }
    }

    /// The answer's frame; an answer past the frame limit becomes a failure
    /// (sent whole, the peer would drop the connection and every request
    /// in flight on it).
    static func answerFrame(id: UInt64, _ answer: RPC.Answer) -> [UInt8] {
        let frame = RPC.encode(.answer(id: id, answer))
        guard frame.count - 4 > RPC.frameLimit else { return frame }
        Log.warn("rpc", "an answer of \(frame.count) bytes exceeds the \(RPC.frameLimit)-byte frame limit; answering a failure")
        return RPC.encode(.answer(id: id, .failure(RPC.Failure(.badRequest,
            "rpc: the answer (\(frame.count) bytes) exceeds the frame limit (\(RPC.frameLimit) bytes)"))))
    }

    /// RPC on an open (plaintext or established TLS) connection.
    private func serve(_ connection: TCPConnection, as rpcPeer: RPCPeer) {
        let peer = rpcPeer.endpoint
        var framer = RPCFramer()
        var inFlight = 0
        connection.onBytes = { [unowned self] connection, bytes in
            let bodies: [[UInt8]]
            do {
                bodies = try framer.feed(bytes)
            } catch {
                Log.warn("rpc", "closing \(peer.map(String.init(describing:)) ?? "?"): oversized frame")
                return connection.close()
            }
            for body in bodies {
                guard case .request(let id, let envelope)? = try? RPC.decode(body) else {
                    // A peer that breaks the protocol gets no more of our time.
                    Log.warn("rpc", "closing \(peer.map(String.init(describing:)) ?? "?"): malformed frame")
                    return connection.close()
                }
                if case .tunnel = envelope.request {
                    // The connection leaves the RPC protocol: it becomes a byte stream.
                    guard let onTunnel, bodies.count == 1, inFlight == 0 else {
                        connection.write(RPC.encode(.answer(id: id, .failure(RPC.Failure(.badRequest, "rpc: a tunnel must open its own connection")))))
                        connection.closeWhenFlushed()
                        return
                    }
                    connection.pauseReading()
                    connection.pauseIdleTimeout()
                    connection.onBytes = { _, _ in }
                    // Counted by the gateway from here on.
                    connection.onClose = { _, _ in }
                    connections -= 1
                    return onTunnel(envelope, id, connection, framer.takeRemainder(), rpcPeer)
                }
                guard inFlight < Self.inFlightLimit else {
                    connection.write(RPC.encode(.answer(id: id, .failure(RPC.Failure(.overloaded, "rpc: too many requests in flight")))))
                    continue
                }
                inFlight += 1
                if inFlight == 1 { connection.pauseIdleTimeout() }
                var answered = false
                handler(envelope, rpcPeer) { [weak connection] answer in
                    guard !answered else { return }
                    answered = true
                    inFlight -= 1
                    if inFlight == 0 { connection?.resumeIdleTimeout() }
                    connection?.write(Self.answerFrame(id: id, answer))
                }
            }
        }
    }
}
