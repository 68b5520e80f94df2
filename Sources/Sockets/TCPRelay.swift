import Glibc

/// Splices two established TCP connections, A and B, on one loop: bytes
/// read from A are written to B and bytes read from B to A, until both
/// directions are done.
///
/// - Backpressure: a direction stops reading its source while the
///   destination holds more than `bufferLimit` unsent bytes less one read
///   chunk, and reads again once the destination has drained. Each
///   destination's outbox so never holds more than `max(bufferLimit,
///   chunk)` bytes: a relay buffers at most about 2 × `bufferLimit`
///   (`bufferedBytes`); the kernel's socket buffers hold the rest.
/// - Half-close: EOF from A becomes a FIN to B once A's bytes are written
///   (and the other way round); the other direction goes on.
/// - End: `completed` once both directions have ended (EOF read and FIN
///   sent on both connections). An error or reset on either side ends the
///   relay at once and resets the other side (SO_LINGER 0), so a failure
///   is never mistaken for a clean end downstream. No bytes either way for
///   `idleTimeout` closes both.
///
/// The relay takes over both connections' callbacks (`onBytes`, `onClose`,
/// `onReadEOF`, `onDrained`) and their idle timeouts; bytes the owner
/// queued on either before (a preamble, a handshake's leftovers) go out
/// first. Connections the owner paused (`pauseReading`) are resumed.
/// Loop-confined: create and use it on the loop thread. It keeps itself
/// alive through its connections until `onFinish`.
public final class TCPRelay {
    public enum Side: Sendable, Hashable, CustomStringConvertible {
        case a, b
        public var description: String { self == .a ? "A" : "B" }
        var other: Side { self == .a ? .b : .a }
    }

    public enum EndReason: Sendable, CustomStringConvertible {
        /// Both directions ended with an EOF and a FIN.
        case completed
        /// No bytes moved either way for the idle timeout.
        case idleTimeout
        /// A side failed (reset, refused write, timeout); the other side was reset.
        case failed(Side, SocketError)
        /// A side was closed under the relay (by its owner) before both
        /// directions ended; the other side was reset.
        case closedEarly(Side)
        /// The owner cancelled the relay (`cancel()`).
        case cancelled
        /// `connect(accepted:to:...)` could not reach the next hop.
        case connectFailed(SocketError)

        public var description: String {
            switch self {
            case .completed: "completed"
            case .idleTimeout: "idle timeout"
            case .failed(let side, let error): "\(side) failed: \(error)"
            case .closedEarly(let side): "\(side) closed early"
            case .cancelled: "cancelled"
            case .connectFailed(let error): "connect failed: \(error)"
            }
        }

        public var isCompleted: Bool {
            if case .completed = self { return true }
            return false
        }
    }

    public struct Stats: Sendable, CustomStringConvertible {
        /// Bytes read from A (and handed on to B), and from B to A.
        public var bytesAToB: UInt64
        public var bytesBToA: UInt64
        public var reason: EndReason
        /// From the splice to the end.
        public var duration: Duration
        /// The most bytes the relay held queued at once (both outboxes).
        public var peakBufferedBytes: Int

        public var description: String {
            "\(reason): A→B \(bytesAToB) B, B→A \(bytesBToA) B in \(duration.seconds)s, peak buffer \(peakBufferedBytes) B"
        }
    }

    public static let defaultBufferLimit = 256 << 10
    /// Envoy's TCP proxy default; an owner that knows its traffic sets its own.
    public static let defaultIdleTimeout: Duration = .seconds(3600)

    public let a: TCPConnection
    public let b: TCPConnection
    public let bufferLimit: Int
    public let idleTimeout: Duration?
    private let loop: EventLoop
    private var onFinish: ((Stats) -> Void)?
    private let started: Instant
    private var lastActivity: Instant
    private var idleTimer: TimerID?
    /// `bytesWritten` of both sides at the last idle check: a destination
    /// draining slowly counts as activity although nothing is read.
    private var writtenAtLastCheck: UInt64 = 0
    private var ended = false
    /// A read chunk: the loop's shared read buffer.
    private var chunk: Int { loop.readBuffer.count }

    public private(set) var bytesAToB: UInt64 = 0
    public private(set) var bytesBToA: UInt64 = 0
    public private(set) var peakBufferedBytes = 0
    /// Bytes read from one side and not yet taken by the other's kernel.
    public var bufferedBytes: Int { a.pendingOutput + b.pendingOutput }
    public var isFinished: Bool { ended }

    /// Starts relaying at once. Both connections MUST be established (not
    /// connecting) and live on `loop`; a connection already closed ends the
    /// relay (`closedEarly`, the other one reset) before this returns.
    public init(_ a: TCPConnection, _ b: TCPConnection, loop: EventLoop,
                bufferLimit: Int = TCPRelay.defaultBufferLimit,
                idleTimeout: Duration? = TCPRelay.defaultIdleTimeout,
                onFinish: @escaping (Stats) -> Void) {
        precondition(a !== b, "a relay needs two connections")
        precondition(a.eventLoop === loop && b.eventLoop === loop, "a relay's connections live on its loop")
        self.a = a
        self.b = b
        self.loop = loop
        self.bufferLimit = max(bufferLimit, 1)
        self.idleTimeout = idleTimeout
        self.onFinish = onFinish
        started = loop.now()
        lastActivity = started
        guard a.isOpen, b.isOpen else {
            end(.closedEarly(a.isOpen ? .b : .a))
            return
        }
        for side in [Side.a, .b] { attach(side) }
        writtenAtLastCheck = a.bytesWritten &+ b.bytesWritten
        armIdleTimer()
        for side in [Side.a, .b] where !ended { updateReading(from: side) }
    }

    /// Ends the relay now and resets both sides.
    public func cancel() { end(.cancelled) }

    // MARK: - Wiring

    private func connection(_ side: Side) -> TCPConnection { side == .a ? a : b }

    /// The closures hold the relay strongly: its connections keep it alive
    /// until each one finishes (and drops its closures).
    private func attach(_ side: Side) {
        let source = connection(side)
        source.pauseIdleTimeout()
        source.onBytes = { [self] _, bytes in relay(bytes, from: side) }
        source.onReadEOF = { [self] _ in
            // Everything read from `side` has been queued on the other:
            // its FIN follows those bytes.
            connection(side.other).shutdownWriteWhenFlushed()
        }
        // The destination of the other direction drained: read that source again.
        source.onDrained = { [self] _ in
            lastActivity = loop.now()
            updateReading(from: side.other)
        }
        source.onClose = { [self] connection, error in closed(side, connection, error) }
    }

    private func relay(_ bytes: UnsafeRawBufferPointer, from side: Side) {
        lastActivity = loop.now()
        if side == .a { bytesAToB &+= UInt64(bytes.count) } else { bytesBToA &+= UInt64(bytes.count) }
        connection(side.other).write(bytes)
        let buffered = bufferedBytes
        if buffered > peakBufferedBytes { peakBufferedBytes = buffered }
        if !ended { updateReading(from: side) }
    }

    /// Reads from `side` only while its destination can take a whole chunk
    /// without exceeding the limit, so no outbox ever grows past it.
    private func updateReading(from side: Side) {
        let source = connection(side)
        let destination = connection(side.other)
        if destination.pendingOutput > 0 && destination.pendingOutput + chunk > bufferLimit {
            source.pauseReading()
        } else {
            source.resumeReading()
        }
    }

    private func closed(_ side: Side, _ connection: TCPConnection, _ error: SocketError?) {
        guard !ended else { return }
        if let error { return end(.failed(side, error)) }
        // A clean close is the end of both directions on this side only if
        // its EOF was read and its FIN sent; otherwise its owner closed it.
        guard connection.isReadClosed && connection.isWriteClosed else { return end(.closedEarly(side)) }
        if !self.connection(side.other).isOpen { end(.completed) }
    }

    // MARK: - Idle timeout

    private func armIdleTimer() {
        guard let idleTimeout, !ended else { return }
        let due = lastActivity + idleTimeout
        let delay = due - loop.now()
        idleTimer = loop.schedule(after: delay > .zero ? delay : .zero) { [weak self] in self?.idleCheck() }
    }

    private func idleCheck() {
        guard let idleTimeout, !ended else { return }
        let written = a.bytesWritten &+ b.bytesWritten
        if written != writtenAtLastCheck {
            writtenAtLastCheck = written
            lastActivity = loop.now()
        }
        if loop.now() - lastActivity >= idleTimeout { return end(.idleTimeout) }
        armIdleTimer()
    }

    // MARK: - End

    private func end(_ reason: EndReason) {
        guard !ended else { return }
        // Closing the connections drops their hold on the relay.
        withExtendedLifetime(self) { finish(reason) }
    }

    private func finish(_ reason: EndReason) {
        ended = true
        if let t = idleTimer { loop.cancel(t) }
        idleTimer = nil
        switch reason {
        case .completed:
            break
        case .idleTimeout:
            // Nothing is moving: a plain close (FIN) is enough.
            a.close()
            b.close()
        case .failed, .closedEarly, .cancelled, .connectFailed:
            a.abort()
            b.abort()
        }
        let stats = Stats(bytesAToB: bytesAToB, bytesBToA: bytesBToA, reason: reason,
                          duration: loop.now() - started, peakBufferedBytes: peakBufferedBytes)
        let callback = onFinish
        onFinish = nil
        callback?(stats)
    }
}

extension TCPRelay {
    /// Connects to `endpoint` for an `accepted` connection and relays
    /// between them. `accepted` is paused while connecting (its bytes wait
    /// in the kernel); `onConnected` may write a preamble to the new
    /// connection before the splice. A connect that fails or times out
    /// resets `accepted` and reports `connectFailed`; so does `accepted`
    /// closing meanwhile (`closedEarly(.a)`). A is `accepted`, B the new one.
    public static func connect(accepted: TCPConnection, to endpoint: Endpoint, connectTimeout: Duration,
                               bufferLimit: Int = TCPRelay.defaultBufferLimit,
                               idleTimeout: Duration? = TCPRelay.defaultIdleTimeout,
                               onConnected: ((TCPConnection) -> Void)? = nil,
                               onFinish: @escaping (Stats) -> Void) {
        let loop = accepted.eventLoop
        let started = loop.now()
        func fail(_ reason: EndReason) {
            accepted.abort()
            onFinish(Stats(bytesAToB: 0, bytesBToA: 0, reason: reason, duration: loop.now() - started, peakBufferedBytes: 0))
        }
        guard accepted.isOpen else { return fail(.closedEarly(.a)) }
        accepted.pauseReading()
        let next: TCPConnection
        do {
            next = try TCPConnection.connect(to: endpoint, loop: loop, timeout: connectTimeout)
        } catch {
            return fail(.connectFailed(error))
        }
        var settled = false
        // While connecting, the accepted side may only fail or be closed.
        accepted.onClose = { _, error in
            guard !settled else { return }
            settled = true
            next.abort()
            fail(error.map { .failed(.a, $0) } ?? .closedEarly(.a))
        }
        next.onClose = { _, error in
            guard !settled else { return }
            settled = true
            fail(.connectFailed(error ?? SocketError("connect \(endpoint)", errno: ECONNABORTED)))
        }
        next.onConnected = { next in
            guard !settled else { return }
            settled = true
            accepted.onClose = { _, _ in }
            next.onClose = { _, _ in }
            onConnected?(next)
            _ = TCPRelay(accepted, next, loop: loop, bufferLimit: bufferLimit, idleTimeout: idleTimeout, onFinish: onFinish)
        }
    }
}
