import Glibc
import Sockets

/// Forwards queries for names outside our domains to the recursors (in
/// order: the next one when one times out) over UDP, and hands back the
/// first answer with the client's query ID. Loop-confined.
final class DNSForwarder {
    enum Client {
        case udp(Endpoint)
        case tcp(TCPConnection)
    }

    private struct Pending {
        let query: [UInt8]
        let clientID: UInt16
        var recursor: Int
        var timer: TimerID?
        let done: ([UInt8]?) -> Void
    }

    private let recursors: [Endpoint]
    private let timeout: Duration
    private let loop: EventLoop
    private var sockets: [Int32: Socket] = [:]
    private var pending: [UInt16: Pending] = [:]
    private var random = SeededRandom(seed: UInt64(truncatingIfNeeded: Instant.monotonicNow().nanoseconds) ^ 0x5eed)
    /// Queries in flight at once; past this a query gets SERVFAIL at once.
    static let inFlightLimit = 4096

    init(recursors: [Endpoint], timeout: Duration, loop: EventLoop) throws(SocketError) {
        self.recursors = recursors
        self.timeout = timeout
        self.loop = loop
        // One socket per address family, on an ephemeral port.
        for family in Set(recursors.map(AddressFamily.of)) {
            let socket = try Socket.udp(family: family)
            sockets[family] = socket
            loop.register(socket.fd, events: EventLoop.readable) { [unowned self] _ in receive(on: socket) }
        }
    }

    func close() {
        for socket in sockets.values {
            loop.deregister(socket.fd)
            socket.close()
        }
        sockets = [:]
        for entry in pending.values { if let timer = entry.timer { loop.cancel(timer) } }
        pending = [:]
    }

    /// Sends `query` (whose ID is `id`) to the first recursor; `done` gets
    /// the answer, or nil when every recursor timed out.
    func forward(_ query: [UInt8], id: UInt16, done: @escaping ([UInt8]?) -> Void) {
        guard pending.count < Self.inFlightLimit, query.count >= 12 else { return done(nil) }
        var upstreamID = UInt16(truncatingIfNeeded: random.next())
        while pending[upstreamID] != nil { upstreamID &+= 1 }
        var rewritten = query
        rewritten[0] = UInt8(upstreamID >> 8)
        rewritten[1] = UInt8(upstreamID & 0xff)
        pending[upstreamID] = Pending(query: rewritten, clientID: id, recursor: 0, timer: nil, done: done)
        send(upstreamID)
    }

    private func send(_ id: UInt16) {
        guard var entry = pending[id] else { return }
        let recursor = recursors[entry.recursor]
        if let socket = sockets[AddressFamily.of(recursor)] {
            _ = entry.query.withUnsafeBytes { socket.sendTo($0, recursor) }
        }
        entry.timer = loop.schedule(after: timeout) { [weak self] in self?.timedOut(id) }
        pending[id] = entry
    }

    private func timedOut(_ id: UInt16) {
        guard var entry = pending[id] else { return }
        Log.debug("dns", "recursor \(recursors[entry.recursor]) did not answer in \(timeout)")
        entry.recursor += 1
        guard entry.recursor < recursors.count else {
            pending[id] = nil
            return entry.done(nil)
        }
        pending[id] = entry
        send(id)
    }

    private func receive(on socket: Socket) {
        var buffer = [UInt8](repeating: 0, count: 65535)
        for _ in 0..<64 {
            let got = buffer.withUnsafeMutableBytes { socket.receiveFrom($0) }
            guard let (n, from) = got else { return }
            guard n >= 12 else { continue }
            let id = UInt16(buffer[0]) << 8 | UInt16(buffer[1])
            // Only the recursor we asked may answer (no spoofed replies from elsewhere).
            guard let entry = pending[id], from == recursors[entry.recursor] else {
                Log.debug("dns", "dropped an unexpected answer from \(from.map(String.init(describing:)) ?? "?")")
                continue
            }
            pending[id] = nil
            if let timer = entry.timer { loop.cancel(timer) }
            var reply = Array(buffer[0..<n])
            reply[0] = UInt8(entry.clientID >> 8)
            reply[1] = UInt8(entry.clientID & 0xff)
            entry.done(reply)
        }
    }
}
