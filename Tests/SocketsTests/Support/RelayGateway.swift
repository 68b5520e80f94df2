import Glibc
import Sockets
import Synchronization
import TestSupport

/// A minimal gateway on its own event loop: it accepts on 127.0.0.1 (port
/// chosen by the kernel), connects each accepted connection to `upstream`
/// and relays between the two. The test plays the client and the upstream
/// server with blocking sockets.
///
/// `.splice` connects by hand and builds `TCPRelay` itself (the relays are
/// kept, so a timer on the loop can sample their buffers);
/// `.connectHelper` uses `TCPRelay.connect(accepted:to:...)`.
/// Loop-confined state is touched only on the loop; results cross over in
/// a `Mutex` and atomics.
final class RelayGateway: @unchecked Sendable {
    enum Mode { case splice, connectHelper }

    let loop: EventLoop
    let upstream: Endpoint
    let mode: Mode
    let bufferLimit: Int
    let idleTimeout: Duration?
    /// Written to the upstream before the splice (`.connectHelper` only).
    let preamble: [UInt8]?
    /// TLS layers (made on the loop) for the accepted connection and the
    /// upstream one (`.splice` only): two gateways chained through TLS.
    typealias MakeSecurity = @Sendable () -> StreamSecurity?
    let acceptedSecurity: MakeSecurity?
    let upstreamSecurity: MakeSecurity?

    /// Every relay's end, in order.
    let finished = Mutex<[TCPRelay.Stats]>([])
    /// The largest `bufferedBytes` summed over live relays, sampled every millisecond.
    let sampledPeak = Atomic<Int>(0)
    /// The largest outbox allocation summed over live relays, sampled likewise.
    let sampledPeakCapacity = Atomic<Int>(0)
    private let portValue = Atomic<Int>(0)
    var port: UInt16 { UInt16(portValue.load(ordering: .acquiring)) }

    // Loop-confined.
    private var listener: TCPListener?
    private var relays: [Int: TCPRelay] = [:]
    private var nextKey = 0
    private var sampler: TimerID?

    init(upstream port: UInt16, mode: Mode = .splice, bufferLimit: Int = TCPRelay.defaultBufferLimit,
         idleTimeout: Duration? = .seconds(60), preamble: [UInt8]? = nil,
         acceptedSecurity: MakeSecurity? = nil, upstreamSecurity: MakeSecurity? = nil) throws {
        self.acceptedSecurity = acceptedSecurity
        self.upstreamSecurity = upstreamSecurity
        loop = try EventLoop.startThread()
        upstream = Endpoint(ipv4: 127, 0, 0, 1, port: port)
        self.mode = mode
        self.bufferLimit = bufferLimit
        self.idleTimeout = idleTimeout
        self.preamble = preamble
        let failure = Shared<SocketError?>(nil)
        loop.execute { [self] in
            do {
                let listener = try TCPListener(bind: Endpoint(ipv4: 127, 0, 0, 1, port: 0), loop: loop) { [self] socket, peer in
                    accepted(TCPConnection(accepted: socket, peer: peer, loop: loop))
                }
                self.listener = listener
                sample()
                portValue.store(Int(listener.socket.localEndpoint()?.port ?? 0), ordering: .releasing)
            } catch {
                failure.set(error as? SocketError)
                portValue.store(-1, ordering: .releasing)
            }
        }
        let ready = waitUntil { portValue.load(ordering: .acquiring) != 0 }
        guard ready, portValue.load(ordering: .acquiring) > 0 else {
            loop.stop()
            throw failure.value ?? SocketError("listen", errno: ETIMEDOUT)
        }
    }

    /// Closes the listener and stops the loop (relays still open are cancelled).
    func shutdown() {
        let done = Shared(false)
        loop.execute { [self] in
            listener?.close()
            listener = nil
            if let sampler { loop.cancel(sampler) }
            for relay in relays.values { relay.cancel() }
            done.set(true)
        }
        _ = waitUntil { done.value }
        loop.stop()
    }

    func results() -> [TCPRelay.Stats] { finished.withLock { $0 } }

    /// Waits for `count` relays to have finished and returns them all.
    func awaitFinished(_ count: Int, seconds: Double = 30) -> [TCPRelay.Stats]? {
        waitUntil(seconds) { results().count >= count } ? results() : nil
    }

    /// Runs `body` on the loop and waits for its answer.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (RelayGateway) -> T) -> T? {
        let answer = Shared<T?>(nil)
        loop.execute { [self] in answer.set(body(self)) }
        _ = waitUntil { answer.value != nil }
        return answer.value
    }

    /// Loop-confined: the live relays (`.splice` mode only).
    var liveRelays: [TCPRelay] { Array(relays.values) }

    private func accepted(_ a: TCPConnection) {
        let record: (TCPRelay.Stats) -> Void = { [self] stats in finished.withLock { $0.append(stats) } }
        switch mode {
        case .connectHelper:
            TCPRelay.connect(accepted: a, to: upstream, connectTimeout: .seconds(10), bufferLimit: bufferLimit,
                             idleTimeout: idleTimeout, onConnected: preamble.map { bytes in { $0.write(bytes) } },
                             onFinish: record)
        case .splice:
            a.pauseReading()
            if let acceptedSecurity {
                guard let layer = acceptedSecurity() else { return a.abort() }
                a.secure(with: layer)
            }
            guard let b = try? TCPConnection.connect(to: upstream, loop: loop, timeout: .seconds(10)) else {
                return a.abort()
            }
            if let upstreamSecurity {
                guard let layer = upstreamSecurity() else { return a.abort() }
                b.secure(with: layer)
            }
            b.onClose = { _, _ in a.abort() }
            b.onConnected = { [self] b in
                b.onClose = { _, _ in }
                let key = nextKey
                nextKey += 1
                let relay = TCPRelay(a, b, loop: loop, bufferLimit: bufferLimit, idleTimeout: idleTimeout) { [self] stats in
                    relays[key] = nil
                    record(stats)
                }
                if !relay.isFinished { relays[key] = relay }
            }
        }
    }

    private func sample() {
        let buffered = relays.values.reduce(0) { $0 + $1.bufferedBytes }
        sampledPeak.max(buffered, ordering: .relaxed)
        let allocated = relays.values.reduce(0) { $0 + $1.a.outboxCapacity + $1.b.outboxCapacity }
        sampledPeakCapacity.max(allocated, ordering: .relaxed)
        sampler = loop.schedule(after: .milliseconds(1)) { [weak self] in self?.sample() }
    }
}
