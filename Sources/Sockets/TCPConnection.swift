import Glibc

/// A buffered, non-blocking TCP stream driven by an `EventLoop`. All methods
/// MUST be called on the loop thread. The owner reacts to `onBytes` and
/// `onClose`; writes are queued and flushed when the socket is writable.
public final class TCPConnection {
    public let socket: Socket
    public let peer: Endpoint?
    private let loop: EventLoop
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    private var closed = false
    private var closeAfterFlush = false
    private var connecting = false
    private var idleTimer: TimerID?
    private var connectTimer: TimerID?
    private var idleTimeout: Duration?
    private var keepSelfAlive: TCPConnection?
    /// Whether epoll currently watches for writability (changed only when needed: one syscall saved per response).
    private var watchingWrites = false
    private var idlePaused = false

    /// Called with newly received bytes.
    public var onBytes: (TCPConnection, UnsafeRawBufferPointer) -> Void = { _, _ in }
    /// Called once when the stream ends (peer close, error, timeout or `close()`).
    public var onClose: (TCPConnection, SocketError?) -> Void = { _, _ in }
    /// Called once a client connection is established.
    public var onConnected: (TCPConnection) -> Void = { _ in }

    /// Bytes queued and not yet taken by the kernel.
    public var pendingOutput: Int { outbox.count - outboxOffset }

    /// Wraps an accepted socket and starts reading.
    public init(accepted socket: Socket, peer: Endpoint?, loop: EventLoop, idleTimeout: Duration? = nil) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.idleTimeout = idleTimeout
        keepSelfAlive = self
        loop.register(socket.fd, events: EventLoop.readable) { [unowned self] in self.handle($0) }
        armIdleTimer()
    }

    private init(connecting socket: Socket, peer: Endpoint, loop: EventLoop) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.connecting = true
        self.watchingWrites = true
        keepSelfAlive = self
        loop.register(socket.fd, events: EventLoop.writable | EventLoop.readable) { [unowned self] in self.handle($0) }
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

    public func write(_ bytes: [UInt8]) {
        guard !closed else { return }
        if outboxOffset == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxOffset = 0
        }
        outbox.append(contentsOf: bytes)
        if !connecting { flush() }
    }

    /// Closes once queued output has been written.
    public func closeWhenFlushed() {
        closeAfterFlush = true
        if !connecting && pendingOutput == 0 { finish(nil) }
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
        if events & EventLoop.readable != 0 || events & EventLoop.failed != 0 {
            readAvailable()
            if closed { return }
        }
        if events & EventLoop.writable != 0 { flush() }
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
            if n == 0 { return finish(nil) }
            armIdleTimer()
            onBytes(self, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if closed || n < buffer.count { return }
        }
    }

    private func flush() {
        while pendingOutput > 0 {
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
        }
        if pendingOutput == 0 {
            outbox.removeAll(keepingCapacity: outbox.capacity <= 65536)
            outboxOffset = 0
            if closeAfterFlush { return finish(nil) }
            if watchingWrites {
                watchingWrites = false
                loop.modify(socket.fd, events: EventLoop.readable)
            }
        } else if !watchingWrites {
            watchingWrites = true
            loop.modify(socket.fd, events: EventLoop.readable | EventLoop.writable)
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

    private func finish(_ error: SocketError?) {
        guard !closed else { return }
        closed = true
        if let t = idleTimer { loop.cancel(t) }
        if let t = connectTimer { loop.cancel(t) }
        loop.deregister(socket.fd)
        socket.close()
        onClose(self, error)
        onBytes = { _, _ in }
        onClose = { _, _ in }
        onConnected = { _ in }
        keepSelfAlive = nil
    }
}

/// Accepts TCP connections on the loop and hands each to `onAccept`.
public final class TCPListener {
    public let socket: Socket
    private let loop: EventLoop

    public init(bind endpoint: Endpoint, loop: EventLoop,
                onAccept: @escaping (Socket, Endpoint?) -> Void) throws(SocketError) {
        let socket = try Socket.tcp(family: AddressFamily.of(endpoint))
        do {
            try socket.bind(endpoint)
            try socket.listen()
        } catch {
            socket.close()
            throw error
        }
        self.socket = socket
        self.loop = loop
        loop.register(socket.fd, events: EventLoop.readable) { _ in
            for _ in 0..<64 {
                guard let accepted = try? socket.accept() else { return }
                let (client, peer) = accepted
                client.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                onAccept(client, peer)
            }
        }
    }

    public func close() {
        loop.deregister(socket.fd)
        socket.close()
    }
}
