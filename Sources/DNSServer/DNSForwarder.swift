import Glibc
import Sockets

/// Forwards queries for names outside our domains to the recursors (in
/// order: the next one when one times out) over UDP, and hands back the
/// first answer with the client's query ID. Each query goes out from a
/// socket of its own, on a port the kernel picks at random, with an ID from
/// the system's generator (RFC 5452): a spoofed answer must guess both, and
/// must also name the question asked. Loop-confined.
final class DNSForwarder {
    enum Client {
        case udp(Endpoint)
        case tcp(TCPConnection)
    }

    private struct Pending {
        let query: [UInt8]
        /// The question section as sent: the answer must echo it.
        let question: ArraySlice<UInt8>
        let clientID: UInt16
        var recursor: Int
        var timer: TimerID?
        var socket: Socket?
        let done: ([UInt8]?) -> Void
    }

    private let recursors: [Endpoint]
    private let timeout: Duration
    private let loop: EventLoop
    private var pending: [UInt16: Pending] = [:]
    private var random = SystemRandomNumberGenerator()
    /// Queries in flight at once (a socket each); past this a query gets
    /// SERVFAIL at once (dnsmasq's dns-forward-max is 150).
    static let inFlightLimit = 512
    /// Answers dropped because they came from elsewhere, for another ID or question.
    private(set) var refusedAnswers = 0

    init(recursors: [Endpoint], timeout: Duration, loop: EventLoop) throws(SocketError) {
        self.recursors = recursors
        self.timeout = timeout
        self.loop = loop
        // Fail at start, not on the first query, if a family cannot be used.
        for family in Set(recursors.map(AddressFamily.of)) { try Socket.udp(family: family).close() }
    }

    func close() {
        for id in Array(pending.keys) { finish(id) }
    }

    /// Sends `query` (whose ID is `id`) to the first recursor; `done` gets
    /// the answer, or nil when every recursor timed out.
    func forward(_ query: [UInt8], id: UInt16, done: @escaping ([UInt8]?) -> Void) {
        guard pending.count < Self.inFlightLimit, let questionEnd = Self.questionEnd(query) else { return done(nil) }
        var upstreamID = UInt16(truncatingIfNeeded: random.next())
        while pending[upstreamID] != nil { upstreamID = UInt16(truncatingIfNeeded: random.next()) }
        var rewritten = query
        rewritten[0] = UInt8(upstreamID >> 8)
        rewritten[1] = UInt8(upstreamID & 0xff)
        pending[upstreamID] = Pending(query: rewritten, question: rewritten[12..<questionEnd], clientID: id, recursor: 0,
                                      timer: nil, socket: nil, done: done)
        send(upstreamID)
    }

    /// Where the (one) question of `query` ends, if it has one that parses.
    static func questionEnd(_ query: [UInt8]) -> Int? {
        guard query.count >= 12, query[4] == 0, query[5] == 1 else { return nil }
        var i = 12
        while i < query.count {
            let length = Int(query[i])
            if length == 0 { return i + 5 <= query.count ? i + 5 : nil }
            guard length < 64 else { return nil }
            i += 1 + length
        }
        return nil
    }

    private func send(_ id: UInt16) {
        guard var entry = pending[id] else { return }
        if let old = entry.socket { release(old) }
        let recursor = recursors[entry.recursor]
        entry.socket = nil
        if let socket = try? Socket.udp(family: AddressFamily.of(recursor)) {
            entry.socket = socket
            loop.register(socket.fd, events: EventLoop.readable) { [unowned self] _ in receive(id, on: socket) }
            _ = entry.query.withUnsafeBytes { socket.sendTo($0, recursor) }
        } else {
            Log.debug("dns", "no socket for a query to \(recursor): \(String(cString: strerror(errno)))")
        }
        entry.timer = loop.schedule(after: timeout) { [weak self] in self?.timedOut(id) }
        pending[id] = entry
    }

    private func release(_ socket: Socket) {
        loop.deregister(socket.fd)
        socket.close()
    }

    private func finish(_ id: UInt16) {
        guard let entry = pending.removeValue(forKey: id) else { return }
        if let timer = entry.timer { loop.cancel(timer) }
        if let socket = entry.socket { release(socket) }
    }

    private func timedOut(_ id: UInt16) {
        guard var entry = pending[id] else { return }
        Log.debug("dns", "recursor \(recursors[entry.recursor]) did not answer in \(timeout)")
        entry.recursor += 1
        guard entry.recursor < recursors.count else {
            finish(id)
            return entry.done(nil)
        }
        entry.timer = nil
        pending[id] = entry
        send(id)
    }

    private func receive(_ id: UInt16, on socket: Socket) {
        var buffer = [UInt8](repeating: 0, count: 65535)
        for _ in 0..<8 {
            guard let entry = pending[id], entry.socket == socket else { return }
            let got = buffer.withUnsafeMutableBytes { socket.receiveFrom($0) }
            guard let (n, from) = got else { return }
            let questionEnd = 12 + entry.question.count
            // Only the recursor we asked, with our ID and our question, may answer.
            guard n >= questionEnd, from == recursors[entry.recursor],
                  UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id,
                  buffer[12..<questionEnd].elementsEqual(entry.question) else {
                refusedAnswers += 1
                Log.debug("dns", "dropped an unexpected answer from \(from.map(String.init(describing:)) ?? "?")")
                continue
            }
            finish(id)
            var reply = Array(buffer[0..<n])
            reply[0] = UInt8(entry.clientID >> 8)
            reply[1] = UInt8(entry.clientID & 0xff)
            return entry.done(reply)
        }
    }
}
