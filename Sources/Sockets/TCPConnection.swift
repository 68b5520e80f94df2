import Glibc

/// A buffered, non-blocking TCP stream driven by an `EventLoop`. All methods
/// MUST be called on the loop thread. The owner reacts to `onBytes` and
/// `onClose`; writes are queued and flushed when the socket is writable.
///
/// For relaying (`TCPRelay`) it also offers flow control (`pauseReading`,
/// `resumeReading`, `onDrained`) and half-close (`onReadEOF`,
/// `shutdownWriteWhenFlushed`). An owner that uses none of them gets the
/// plain behaviour: a peer's EOF closes the connection.
public final class TCPConnection {
    public let socket: Socket
    public let peer: Endpoint?
    private let loop: EventLoop
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    var closed = false
    var closeAfterFlush = false
    var connecting = false
    private var idleTimer: TimerID?
    private var connectTimer: TimerID?
    private var idleTimeout: Duration?
    private var keepSelfAlive: TCPConnection?
    /// Whether epoll currently watches for writability (changed only when needed: one syscall saved per response).
    private var watchingWrites = false
    private var idlePaused = false
    /// The owner asked not to be handed bytes for now (`pauseReading`).
    var readPaused = false
    /// The events epoll watches now; 0 with `registered` false when parked.
    private var interest: UInt32 = 0
    /// False while parked out of epoll (see `handle`) or after `finish`.
    private var registered = true
    /// A FIN goes out once the outbox is empty (`shutdownWriteWhenFlushed`).
    var shutdownAfterFlush = false

    /// The TLS layer between the socket and the owner (`secure(with:)`).
    public internal(set) var security: StreamSecurity?
    /// Plaintext written before the handshake completed.
    var heldPlaintext: [UInt8] = []
    var plaintextPumpScheduled = false
    /// Called once the TLS handshake completes, before any plaintext is
    /// handed to `onBytes`: the owner checks who the peer proved to be and
    /// may close the connection.
    public var onSecured: ((TCPConnection) -> Void)?

    /// The peer's EOF has been read (only with `onReadEOF` set; otherwise EOF closes).
    public internal(set) var isReadClosed = false
    /// Our FIN has been sent (`shutdownWriteWhenFlushed` and the outbox emptied).
    public internal(set) var isWriteClosed = false
    /// Bytes received from and handed to the kernel over the connection's life.
    public private(set) var bytesRead: UInt64 = 0
    public private(set) var bytesWritten: UInt64 = 0

    /// Called with newly received bytes.
    public var onBytes: (TCPConnection, UnsafeRawBufferPointer) -> Void = { _, _ in }
    /// Called once when the stream ends (peer close, error, timeout or `close()`).
    public var onClose: (TCPConnection, SocketError?) -> Void = { _, _ in }
    /// Called once a client connection is established.
    public var onConnected: (TCPConnection) -> Void = { _ in }
    /// Called when the outbox has been written out completely after having
    /// held bytes the kernel could not take at once (backpressure relief).
    public var onDrained: ((TCPConnection) -> Void)?
    /// Half-close. When set, the peer's EOF calls it and the connection stays
    /// open for writing; it then finishes (`onClose` with no error) once our
    /// FIN is out too (`shutdownWriteWhenFlushed`). When nil, EOF closes.
    public var onReadEOF: ((TCPConnection) -> Void)?

    /// The loop this connection lives on.
    public var eventLoop: EventLoop { loop }
    /// Whether the connection is still open (not yet finished).
    public var isOpen: Bool { !closed }

    /// Bytes queued and not yet taken by the kernel (with TLS: ciphertext,
    /// plus plaintext held until the handshake completes).
    public var pendingOutput: Int { outboxPending + heldPlaintext.count }
    var outboxPending: Int { outbox.count - outboxOffset }
    /// Bytes the outbox holds allocated (for tests and memory accounting).
    package var outboxCapacity: Int { outbox.capacity }

    /// Wraps an accepted socket and starts reading.
    public init(accepted socket: Socket, peer: Endpoint?, loop: EventLoop, idleTimeout: Duration? = nil) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.idleTimeout = idleTimeout
        keepSelfAlive = self
        interest = EventLoop.readable
        loop.register(socket.fd, events: interest) { [unowned self] in self.handle($0) }
        armIdleTimer()
    }

    private init(connecting socket: Socket, peer: Endpoint, loop: EventLoop) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.connecting = true
        self.watchingWrites = true
        keepSelfAlive = self
        interest = EventLoop.writable | EventLoop.readable
        loop.register(socket.fd, events: interest) { [unowned self] in self.handle($0) }
    }

    /// Starts a connection; `onConnected` or `onClose` follows.
    public static func connect(to endpoint: Endpoint, loop: EventLoop, timeout: Duration,
                               idleTimeout: Duration? = nil) throws(SocketError) -> TCPConnection {
        let socket = try Socket.tcp(family: AddressFamily.of(endpoint))
        do {
            try socket.startConnect(to: endpoint)
        } catch {
            socket.close()
            throw error
        }
        socket.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let connection = TCPConnection(connecting: socket, peer: endpoint, loop: loop)
        connection.idleTimeout = idleTimeout
        connection.connectTimer = loop.schedule(after: timeout) { [weak connection] in
            connection?.finish(SocketError("connect timeout", errno: ETIMEDOUT))
        }
        return connection
    }

    /// Queues `bytes` and writes what the kernel takes now. Ignored once
    /// closed or after `shutdownWriteWhenFlushed`.
    public func write(_ bytes: [UInt8]) {
        guard !closed, !shutdownAfterFlush else { return }
        if security != nil { return bytes.withUnsafeBytes { writeSecured($0) } }
        compactOutbox()
        outbox.append(contentsOf: bytes)
        if !connecting { flush() }
    }

    /// Like `write(_:)` for bytes the caller does not own (a relay's read
    /// buffer): with nothing queued they go straight to the kernel and only
    /// what it does not take is copied into the outbox. Behind queued bytes
    /// they are only queued: writability flushes them (no futile send).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, !shutdownAfterFlush, bytes.count > 0 else { return }
        if security != nil { return writeSecured(bytes) }
        writeToSocket(bytes)
    }

    /// `write(_:)` below any TLS layer (its ciphertext, a close_notify
    /// after `shutdownWriteWhenFlushed`).
    func writeToSocket(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, !isWriteClosed, bytes.count > 0 else { return }
        var rest = bytes
        if !connecting && outboxPending == 0 {
            let written: Int?
            do {
                written = try socket.write(bytes)
            } catch {
                return finish(error)
            }
            if let n = written {
                bytesWritten &+= UInt64(n)
                if n == bytes.count { return }
                rest = UnsafeRawBufferPointer(rebasing: bytes[n...])
            }
        }
        compactOutbox()
        outbox.append(contentsOf: rest)
        if !watchingWrites {
            watchingWrites = true
            updateInterest()
        }
    }

    /// Drops the already-written head of the outbox once it is at least as
    /// long as what remains, so a queue that never quite empties (a relay
    /// under load) does not grow without bound. The bytes moved never
    /// exceed the bytes already written: the cost is amortised.
    private func compactOutbox() {
        if outboxOffset == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxOffset = 0
        } else if outboxOffset >= 4096 && outboxOffset >= outboxPending {
            outbox.removeSubrange(0..<outboxOffset)
            outboxOffset = 0
        }
    }

    /// Stops handing bytes to `onBytes` (and reading from the kernel, so the
    /// peer's window fills) until `resumeReading`. Errors and resets are
    /// still noticed. Idempotent.
    public func pauseReading() {
        guard !readPaused else { return }
        readPaused = true
        updateInterest()
    }

    public func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        updateInterest()
        // Records already read off the socket will not make it readable again.
        if security?.hasBufferedInput == true { schedulePlaintextPump() }
    }

    public var isReadingPaused: Bool { readPaused }

    /// Sends a FIN once queued output is written; later writes are ignored.
    /// With `onReadEOF` set the connection stays open to read until the
    /// peer's EOF; without, the peer's EOF closes it as usual.
    public func shutdownWriteWhenFlushed() {
        guard !closed, !shutdownAfterFlush else { return }
        shutdownAfterFlush = true
        if let security {
            // Before the handshake completes, `establish` sends it.
            guard security.isEstablished else { return }
            security.beginClose()
            sendCiphertext()
            if closed { return }
        }
        if !connecting && outboxPending == 0 { shutdownWriteNow() }
    }

    func shutdownWriteNow() {
        guard !isWriteClosed else { return }
        isWriteClosed = true
        socket.shutdownWrite()
        if isReadClosed { finish(nil) }
    }

    /// Closes at once with a reset (SO_LINGER 0): queued and unsent bytes
    /// are dropped and the peer sees ECONNRESET rather than a clean EOF.
    /// For passing on a failure, never for a normal end.
    public func abort() {
        guard !closed else { return }
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(socket.fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        finish(nil)
    }

    /// Closes once queued output has been written.
    public func closeWhenFlushed() {
        guard !closed, !closeAfterFlush else { return }
        closeAfterFlush = true
        if let security, security.isEstablished, !shutdownAfterFlush {
            security.beginClose()
            sendCiphertext()
            if closed { return }
        }
        if !connecting && outboxPending == 0 && handshakeSettled { finish(nil) }
    }

    public func close() { finish(nil) }

    private func handle(_ events: UInt32) {
        if connecting {
            let err = socket.pendingError()
            if err != 0 { return finish(SocketError("connect", errno: err)) }
            guard events & EventLoop.writable != 0 else { return }
            connecting = false
            if let t = connectTimer { loop.cancel(t) }
            armIdleTimer()
            onConnected(self)
            if closed { return }
            flush()
            if closed { return }
        }
        if events & EventLoop.failed != 0 && !wantsToRead {
            // Epoll reports errors and hang-ups whatever the interest, and
            // keeps reporting them: take a pending error now; a hang-up with
            // none (both FINs exchanged while the owner paused reading)
            // leaves nothing to do until the owner reads again, so the
            // connection leaves epoll until `resumeReading` (else the loop spins).
            let err = socket.pendingError()
            if err != 0 { return finish(SocketError("socket", errno: err)) }
            if events & EventLoop.writable != 0 { flush() }
            if !closed && !watchingWrites { park() }
            return
        }
        // (A readable event can be stale: an earlier handler of the same
        // epoll batch may have paused this connection.)
        if (events & EventLoop.readable != 0 || events & EventLoop.failed != 0) && wantsToRead {
            readAvailable()
            if closed { return }
        }
        if events & EventLoop.writable != 0 { flush() }
    }

    private var wantsToRead: Bool { !readPaused && !isReadClosed }

    /// Tells epoll what we wait for now: readability unless paused or at
    /// EOF, writability while output is queued (or a connect is pending).
    private func updateInterest() {
        guard !closed else { return }
        let wanted = (wantsToRead ? EventLoop.readable : 0) | (watchingWrites ? EventLoop.writable : 0)
        if !registered {
            guard wanted != 0 else { return }
            registered = true
            interest = wanted
            loop.register(socket.fd, events: wanted) { [unowned self] in self.handle($0) }
            return
        }
        guard wanted != interest else { return }
        interest = wanted
        loop.modify(socket.fd, events: wanted)
    }

    private func park() {
        guard registered else { return }
        registered = false
        interest = 0
        loop.deregister(socket.fd)
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        for _ in 0..<16 {  // bounded, so one busy peer cannot starve the loop
            let result: Int?
            do {
                result = try socket.read(into: buffer)
            } catch {
                return finish(error)
            }
            guard let n = result else { return }
            if n == 0 {
                // A TLS stream ends with close_notify; a bare FIN may be a truncation.
                if security != nil { return finish(SocketError("TLS stream ended without close_notify", errno: ECONNRESET)) }
                return readEOF()
            }
            bytesRead &+= UInt64(n)
            armIdleTimer()
            let received = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if security != nil { absorbSecured(received) } else { onBytes(self, received) }
            if closed || readPaused || isReadClosed || n < buffer.count { return }
        }
    }

    func readEOF() {
        guard let onReadEOF else { return finish(nil) }
        isReadClosed = true
        updateInterest()  // a socket at EOF stays readable: stop watching
        onReadEOF(self)
        if !closed && isWriteClosed { finish(nil) }
    }

    private func flush() {
        let hadOutput = outboxPending > 0
        while outboxPending > 0 {
            let written: Int?
            do {
                written = try outbox.withUnsafeBytes { raw throws(SocketError) in
                    try socket.write(UnsafeRawBufferPointer(rebasing: raw[outboxOffset...]))
                }
            } catch let error as SocketError {
                return finish(error)
            } catch {
                return finish(nil)
            }
            guard let n = written else { break }
            outboxOffset += n
            bytesWritten &+= UInt64(n)
        }
        if outboxPending == 0 {
            outbox.removeAll(keepingCapacity: outbox.capacity <= 65536)
            outboxOffset = 0
            if closeAfterFlush && handshakeSettled { return finish(nil) }
            if watchingWrites {
                watchingWrites = false
                updateInterest()
            }
            if shutdownAfterFlush {
                shutdownWriteNow()
                if closed { return }
            }
            if hadOutput, let onDrained { onDrained(self) }
        } else if !watchingWrites {
            watchingWrites = true
            updateInterest()
        }
    }

    /// Stops the idle timeout while the owner is busy on the peer's behalf
    /// (an HTTP request being answered, a blocking query parked for minutes).
    public func pauseIdleTimeout() {
        idlePaused = true
        if let t = idleTimer { loop.cancel(t) }
        idleTimer = nil
    }

    public func resumeIdleTimeout() {
        idlePaused = false
        armIdleTimer()
    }

    private func armIdleTimer() {
        guard let idleTimeout, !idlePaused else { return }
        if let t = idleTimer { loop.cancel(t) }
        idleTimer = loop.schedule(after: idleTimeout) { [weak self] in
            self?.finish(SocketError("idle timeout", errno: ETIMEDOUT))
        }
    }

    func finish(_ error: SocketError?) {
        guard !closed else { return }
        closed = true
        if let t = idleTimer { loop.cancel(t) }
        if let t = connectTimer { loop.cancel(t) }
        if registered { loop.deregister(socket.fd) }
        registered = false
        socket.close()
        onClose(self, error)
        onBytes = { _, _ in }
        onClose = { _, _ in }
        onConnected = { _ in }
        onDrained = nil
        onReadEOF = nil
        onSecured = nil
        keepSelfAlive = nil
    }
}
