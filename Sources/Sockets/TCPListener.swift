import Glibc

/// Accepts TCP connections on the loop and hands each to `onAccept`.
/// When accepting fails for want of resources (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM) the pending connection stays queued and the listener stays
/// readable, so a level-triggered loop would spin: accepting pauses for
/// `resourcePause` instead, and the failure is logged once a minute.
public final class TCPListener {
    public let socket: Socket
    private let loop: EventLoop
    private var paused = false
    private var limiter = LogLimiter()
    /// Accepts refused for want of resources so far.
    public private(set) var resourceFailures = 0
    public static let resourcePause: Duration = .milliseconds(250)

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
        loop.register(socket.fd, events: EventLoop.readable) { [weak self] _ in
            for _ in 0..<64 {
                let accepted: (Socket, Endpoint?)?
                do throws(SocketError) {
                    accepted = try socket.accept()
                } catch {
                    self?.pauseAccepting(after: error)
                    return
                }
                guard let (client, peer) = accepted else { return }
                client.setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                onAccept(client, peer)
            }
        }
    }

    private func pauseAccepting(after error: SocketError) {
        guard !paused else { return }
        resourceFailures += 1
        if limiter.allow("accept", now: loop.now()) {
            Log.warn("net", "\(error) on \(socket.localEndpoint().map { "\($0)" } ?? "a listener"); accepting again in \(Self.resourcePause) (logged once a minute)")
        }
        paused = true
        loop.modify(socket.fd, events: 0)
        _ = loop.schedule(after: Self.resourcePause) { [weak self] in
            guard let self, paused else { return }
            paused = false
            loop.modify(socket.fd, events: EventLoop.readable)
        }
    }

    public func close() {
        paused = false
        loop.deregister(socket.fd)
        socket.close()
    }
}
