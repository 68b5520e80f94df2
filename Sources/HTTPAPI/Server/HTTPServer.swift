import Crypto
import Sockets

/// HTTP/1.1 over the event loop: keep-alive, pipelining (answered in
/// order), request size limits from `HTTPLimits`, an idle timeout and a
/// connection limit. Handlers may answer later (a join, a blocking
/// query); the connection waits for that answer before the next request.
/// All methods MUST be called on the loop thread.
public final class HTTPServer {
    public typealias Respond = (HTTPResponse) -> Void
    public typealias Handler = (HTTPRequest, @escaping Respond) -> Void

    public let endpoint: Endpoint
    private let listener: TCPListener
    private var open = 0
    private let maxConnections: Int

    /// With `tls`, HTTPS: a TLS handshake before the first request (the
    /// idle timeout bounds it); a plaintext request gets Go's answer.
    public init(bind: Endpoint, loop: EventLoop, limits: HTTPLimits = .server, maxConnections: Int = 16384,
                idleTimeout: Duration = .seconds(90), tls: TLSContext? = nil, handler: @escaping Handler) throws(SocketError) {
        self.maxConnections = maxConnections
        var accepted: ((Socket, Endpoint?) -> Void)?
        listener = try TCPListener(bind: bind, loop: loop) { socket, peer in accepted?(socket, peer) }
        endpoint = listener.socket.localEndpoint() ?? bind
        accepted = { [unowned self] socket, peer in
            guard open < self.maxConnections else {
                Log.warn("agent.http", "connection limit (\(self.maxConnections)) reached; refusing \(peer.map { "\($0)" } ?? "?")")
                socket.close()
                return
            }
            open += 1
            let connection = TCPConnection(accepted: socket, peer: peer, loop: loop, idleTimeout: idleTimeout)
            guard let tls else {
                let session = HTTPSession(connection: connection, limits: limits, handler: handler)
                session.onClosed = { [weak self] in self?.open -= 1 }
                return
            }
            connection.onClose = { [weak self] _, _ in self?.open -= 1 }
            connection.onBytes = { [unowned self] connection, bytes in
                // A TLS record starts 0x16 (handshake).
                guard bytes.first == 0x16 else {
                    connection.write(Self.plaintextToHTTPS)
                    return connection.closeWhenFlushed()
                }
                guard let tlsSession = try? TLSSession(context: tls) else { return connection.close() }
                let session = HTTPSession(connection: connection, limits: limits, handler: handler)
                session.onClosed = { [weak self] in self?.open -= 1 }
                connection.secure(with: tlsSession, received: bytes)
            }
        }
    }

    public var openConnections: Int { open }

    /// What Go's server (so Consul) answers plaintext on an HTTPS port.
    static let plaintextToHTTPS = Array("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".utf8)

    public func close() { listener.close() }
}

/// One client connection: parse, dispatch one request at a time, write.
final class HTTPSession {
    private let connection: TCPConnection
    private var parser: HTTPRequestParser
    private let handler: HTTPServer.Handler
    private var busy = false
    private var closed = false
    /// Inside `serveNext`'s loop: an answer given synchronously returns to
    /// the loop instead of calling it again (a recursion per pipelined request).
    private var serving = false
    private var stream: HTTPStream?
    /// Answers queued past `outputLimit`: no request is served until the
    /// client has read them (a client that never reads cannot grow us).
    private var waitingForDrain = false
    /// Answers queued on one connection past this stop its next requests.
    static let outputLimit = 1 << 20
    /// Bytes the parser holds past a whole request's worth while one is
    /// being answered: reading stops (pipelined requests wait in the kernel).
    private let inputLimit: Int
    var onClosed: () -> Void = {}

    init(connection: TCPConnection, limits: HTTPLimits, handler: @escaping HTTPServer.Handler) {
        self.connection = connection
        self.parser = HTTPRequestParser(limits: limits)
        self.handler = handler
        inputLimit = limits.maxHeaderBytes + limits.maxBodyBytes
        // The connection keeps itself (and through these closures, us) alive until it closes.
        connection.onBytes = { [self] conn, bytes in
            parser.append(bytes)
            // curl waits a second for this before sending a larger body.
            if parser.takeExpectContinue() { conn.write(HTTPResponse.continueHead) }
            serveNext()
        }
        connection.onDrained = { [self] _ in
            guard waitingForDrain else { return }
            waitingForDrain = false
            serveNext()
        }
        connection.onClose = { [self] _, _ in
            closed = true
            stream?.cancelled()
            stream = nil
            onClosed()
        }
    }

    private func serveNext() {
        guard !serving else { return }
        serving = true
        defer {
            serving = false
            updateReading()
        }
        while !busy && !closed && !waitingForDrain {
            let request: HTTPRequest?
            do throws(HTTPParseError) {
                request = try parser.next()
            } catch {
                var response = HTTPResponse(status: error.status, contentType: "text/plain; charset=utf-8",
                                            body: Array((error.message + "\n").utf8))
                response.headers.set("Connection", "close")
                connection.write(response.serialized(keepAlive: false))
                connection.closeWhenFlushed()
                return
            }
            guard let request else { return }
            busy = true
            connection.pauseIdleTimeout()
            let keepAlive = request.keepAlive
            let isHead = request.method == "HEAD"
            var answered = false
            handler(request) { [weak self] response in
                guard let self, !answered else { return }
                answered = true
                self.finish(response, keepAlive: keepAlive, isHead: isHead)
            }
        }
    }

    private func finish(_ response: HTTPResponse, keepAlive: Bool, isHead: Bool) {
        guard !closed else { return }
        var out: [UInt8] = []
        out.reserveCapacity(response.body.count + 256)
        response.serialize(into: &out, keepAlive: keepAlive, isResponseToHEAD: isHead)
        connection.write(out)
        if let stream = response.stream {
            // The connection is the stream's until it ends: no more requests on it.
            self.stream = stream
            let connection = connection
            stream.sink = { bytes in
                guard connection.pendingOutput < HTTPStream.backlogLimit else { return false }
                connection.write(bytes)
                return true
            }
            stream.end = {
                connection.write([0x30, 0x0d, 0x0a, 0x0d, 0x0a])  // the last chunk: "0\r\n\r\n"
                connection.closeWhenFlushed()
            }
            return
        }
        busy = false
        connection.resumeIdleTimeout()
        if !keepAlive {
            connection.closeWhenFlushed()
            return
        }
        if connection.pendingOutput > Self.outputLimit { waitingForDrain = true }
        serveNext()
    }

    /// Reads while a request can use the bytes; stops while answers wait
    /// for the client or a request in progress has a full buffer behind it.
    private func updateReading() {
        guard !closed, stream == nil else { return }
        let stop = waitingForDrain || (busy && parser.bufferedByteCount > inputLimit)
        if stop { connection.pauseReading() } else { connection.resumeReading() }
    }
}
