import Crypto
import Glibc

/// Why `HTTPClient.send` failed.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Method, path or a header would not make a valid request line/field.
    case invalidRequest(String)
    case resolveFailed(host: String, reason: String)
    case connectFailed(host: String, port: UInt16, reason: String)
    /// The overall deadline passed before the response was complete.
    case timedOut
    case io(String)
    case badResponse(HTTPParseError)

    public var description: String {
        switch self {
        case .invalidRequest(let why): return "invalid request: \(why)"
        case let .resolveFailed(host, reason): return "cannot resolve \(host): \(reason)"
        case let .connectFailed(host, port, reason): return "cannot connect to \(host):\(port): \(reason)"
        case .timedOut: return "timed out"
        case .io(let why): return "I/O error: \(why)"
        case .badResponse(let error): return "bad response: \(error.message)"
        }
    }
}

/// A small blocking HTTP/1.1 client for the CLI process (`fedagent members`
/// and friends). One request per connection (`Connection: close`).
/// It blocks its thread, so it MUST NOT be called from Swift's cooperative
/// pool inside the agent.
public enum HTTPClient {
    /// Sends one request and reads the whole response.
    /// - host: an IPv4 or IPv6 literal (brackets optional) or a name such
    ///   as "localhost"; every address getaddrinfo returns is tried in turn.
    /// - timeoutSeconds: deadline for the whole exchange; <= 0 waits forever.
    /// - tls: HTTPS with this context; the server's certificate must name
    ///   `serverName` (default: `host`) unless the context skips verification.
    public static func send(method: String = "GET", host: String, port: UInt16, path: String,
                            body: [UInt8]? = nil, headers: [(name: String, value: String)] = [],
                            timeoutSeconds: Int = 10, limits: HTTPLimits = .client,
                            tls: TLSContext? = nil, serverName: String? = nil) throws(HTTPClientError) -> (status: Int, headers: HTTPHeaders, body: [UInt8]) {
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let request = try requestBytes(method: method, host: bareHost, port: port, path: path, body: body, headers: headers)
        let deadline = timeoutSeconds > 0 ? monotonicSeconds() + Double(timeoutSeconds) : nil
        let socket = try ClientConnection.open(host: bareHost, port: port, deadline: deadline)
        defer { socket.close() }
        let connection = try secure(socket, tls: tls, serverName: serverName ?? bareHost, deadline: deadline)
        try connection.sendAll(request, deadline: deadline)
        var parser = HTTPResponseParser(requestMethod: method, limits: limits)
        var atEOF = false
        while true {
            let response: HTTPResponse?
            do throws(HTTPParseError) {
                response = atEOF ? try parser.finish() : try parser.next()
                if atEOF && response == nil { throw HTTPParseError(.truncatedMessage) }
            } catch {
                throw .badResponse(error)
            }
            if let response { return (response.status, response.headers, response.body) }
            let received = try connection.receive(deadline: deadline)
            if received.isEmpty { atEOF = true } else { parser.append(received) }
        }
    }

    private static func secure(_ socket: ClientConnection, tls: TLSContext?, serverName: String,
                               deadline: Double?) throws(HTTPClientError) -> any ClientStream {
        guard let tls else { return socket }
        let session: TLSSession
        do {
            session = try TLSSession(context: tls, hostname: serverName)
        } catch {
            throw .io("TLS: \(error)")
        }
        let secured = BlockingTLS(session: session, socket: socket)
        try secured.handshake(deadline: deadline)
        return secured
    }

    /// Sends a GET and hands the body to `onBody` as it arrives (a chunked
    /// stream such as `/v1/agent/monitor`), until the server ends it or
    /// `onBody` returns false; no deadline once the head has arrived. A
    /// status other than 200 is thrown with the start of its body.
    public static func stream(host: String, port: UInt16, path: String, headers: [(name: String, value: String)] = [],
                              tls: TLSContext? = nil, serverName: String? = nil,
                              onBody: ([UInt8]) -> Bool) throws(HTTPClientError) {
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let request = try requestBytes(method: "GET", host: bareHost, port: port, path: path, body: nil, headers: headers)
        let deadline = monotonicSeconds() + 30
        let socket = try ClientConnection.open(host: bareHost, port: port, deadline: deadline)
        defer { socket.close() }
        let connection = try secure(socket, tls: tls, serverName: serverName ?? bareHost, deadline: deadline)
        try connection.sendAll(request, deadline: deadline)
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let received = try connection.receive(deadline: deadline)
            guard !received.isEmpty else { throw .io("connection closed before the response head") }
            buffer += received
            headEnd = buffer.indices.dropLast(3).first { buffer[$0] == 0x0d && buffer[$0 + 1] == 0x0a && buffer[$0 + 2] == 0x0d && buffer[$0 + 3] == 0x0a }
            if headEnd == nil && buffer.count > 64 * 1024 { throw .io("response head too large") }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self).lowercased()
        buffer.removeFirst(headEnd! + 4)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard status == 200 else {
            while buffer.count < 4096, let more = try? connection.receive(deadline: deadline), !more.isEmpty { buffer += more }
            throw .io("status \(status): \(String(decoding: buffer.prefix(4096), as: UTF8.self))")
        }
        guard head.contains("transfer-encoding: chunked") else {
            // A whole body: handed over as it comes, until the server closes.
            if !buffer.isEmpty, !onBody(buffer) { return }
            while true {
                let more = try connection.receive(deadline: nil)
                if more.isEmpty || !onBody(more) { return }
            }
        }
        var chunks = ChunkStream()
        while true {
            let (data, ended) = try chunks.take(&buffer)
            if !data.isEmpty, !onBody(data) { return }
            if ended { return }
            let more = try connection.receive(deadline: nil)
            guard !more.isEmpty else { return }
            buffer += more
        }
    }

    static func requestBytes(method: String, host: String, port: UInt16, path: String, body: [UInt8]?,
                             headers: [(name: String, value: String)]) throws(HTTPClientError) -> [UInt8] {
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else { throw .invalidRequest("method \(method)") }
        guard path.hasPrefix("/"), path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidRequest("path must start with / and be percent-encoded")
        }
        for field in headers {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(isTokenByte),
                  field.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw .invalidRequest("header \(field.name)")
            }
        }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: fedagent\r\nAccept: */*\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        // Go's client always sends a length for PUT/POST, even for no body;
        // Consul's write endpoints expect one.
        if let body {
            head += "Content-Length: \(body.count)\r\n"
        } else if method == "PUT" || method == "POST" || method == "PATCH" {
            head += "Content-Length: 0\r\n"
        }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + (body ?? [])
    }
}

/// Seconds on the monotonic clock (immune to wall-clock jumps).
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

private func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// What a request is sent over: the socket, or TLS on it.
private protocol ClientStream {
    func sendAll(_ bytes: [UInt8], deadline: Double?) throws(HTTPClientError)
    /// The next bytes from the peer; empty at the end.
    func receive(deadline: Double?) throws(HTTPClientError) -> [UInt8]
}

/// TLS over the blocking socket: the session turns plaintext into records
/// and back; each wait for the peer is bounded by the same deadline.
private final class BlockingTLS: ClientStream {
    let session: TLSSession
    let socket: ClientConnection
    private var received: [UInt8] = []
    private var ended = false

    init(session: TLSSession, socket: ClientConnection) {
        self.session = session
        self.socket = socket
    }

    func handshake(deadline: Double?) throws(HTTPClientError) {
        while !session.isEstablished {
            try flush(deadline)
            let bytes = try socket.receive(deadline: deadline)
            if bytes.isEmpty { throw .io("TLS: the server closed the connection during the handshake") }
            try absorb(bytes)
        }
        try flush(deadline)
    }

    func sendAll(_ bytes: [UInt8], deadline: Double?) throws(HTTPClientError) {
        session.send(bytes)
        try flush(deadline)
    }

    func receive(deadline: Double?) throws(HTTPClientError) -> [UInt8] {
        while received.isEmpty && !ended {
            try flush(deadline)
            let bytes = try socket.receive(deadline: deadline)
            if bytes.isEmpty { ended = true } else { try absorb(bytes) }
        }
        defer { received = [] }
        return received
    }

    private func absorb(_ bytes: [UInt8]) throws(HTTPClientError) {
        for output in bytes.withUnsafeBytes({ session.receive($0) }) {
            switch output {
            case .plaintext(let p): received += p
            case .closed: ended = true
            case .failed(let why): throw .io("TLS: \(why)")
            case .established: break
            }
        }
    }

    private func flush(_ deadline: Double?) throws(HTTPClientError) {
        let out = session.takeOutgoing()
        if !out.isEmpty { try socket.sendAll(out, deadline: deadline) }
    }
}

/// A connected blocking TCP socket whose every send/receive is bounded by
/// the remaining time to the deadline (SO_SNDTIMEO / SO_RCVTIMEO).
private struct ClientConnection: ClientStream {
    let fd: Int32

    static func open(host: String, port: UInt16, deadline: Double?) throws(HTTPClientError) -> ClientConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .resolveFailed(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastError = "no addresses"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errnoText(errno)
                continue
            }
            let connection = ClientConnection(fd: fd)
            do throws(HTTPClientError) {
                // On Linux SO_SNDTIMEO also bounds connect().
                try connection.applyTimeout(SO_SNDTIMEO, deadline: deadline)
            } catch {
                connection.close()
                throw error
            }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return connection }
            let code = errno
            connection.close()
            if code == EINPROGRESS || code == EAGAIN || code == ETIMEDOUT { throw .timedOut }
            lastError = errnoText(code)
        }
        throw .connectFailed(host: host, port: port, reason: lastError)
    }

    func close() { _ = Glibc.close(fd) }

    func sendAll(_ bytes: [UInt8], deadline: Double?) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            try applyTimeout(SO_SNDTIMEO, deadline: deadline)
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { throw .timedOut }
            throw .io("send: \(errnoText(code))")
        }
    }

    /// The next bytes from the peer; empty at EOF.
    func receive(deadline: Double?) throws(HTTPClientError) -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            try applyTimeout(SO_RCVTIMEO, deadline: deadline)
            let count = chunk.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress, raw.count, 0) }
            if count >= 0 {
                chunk.removeSubrange(count...)
                return chunk
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { throw .timedOut }
            throw .io("recv: \(errnoText(code))")
        }
    }

    /// Sets the socket timeout to the time left; throws once none is left.
    private func applyTimeout(_ option: Int32, deadline: Double?) throws(HTTPClientError) {
        guard let deadline else { return }
        let remaining = deadline - monotonicSeconds()
        guard remaining > 0 else { throw .timedOut }
        let whole = remaining.rounded(.down)
        // A zero timeval means "block forever": keep at least 1 microsecond.
        var value = timeval(tv_sec: Int(whole), tv_usec: max(1, Int((remaining - whole) * 1_000_000)))
        guard setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw .io("setsockopt: \(errnoText(errno))")
        }
    }
}

/// Chunked framing read as it arrives: what the chunks in `buffer` carry,
/// and whether the last chunk came.
struct ChunkStream {
    private var remaining: Int?  // nil: a size line is next
    private var needsCRLF = false

    mutating func take(_ buffer: inout [UInt8]) throws(HTTPClientError) -> (data: [UInt8], ended: Bool) {
        var out: [UInt8] = []
        while true {
            if needsCRLF {
                guard buffer.count >= 2 else { return (out, false) }
                buffer.removeFirst(2)
                needsCRLF = false
            }
            if let left = remaining {
                let n = min(left, buffer.count)
                out += buffer.prefix(n)
                buffer.removeFirst(n)
                if n < left {
                    remaining = left - n
                    return (out, false)
                }
                remaining = nil
                needsCRLF = true
                continue
            }
            guard let lf = buffer.firstIndex(of: 0x0a) else {
                if buffer.count > 1024 { throw .io("chunk size line too long") }
                return (out, false)
            }
            let line = String(decoding: buffer[..<lf], as: UTF8.self)
            buffer.removeFirst(lf + 1)
            let digits = line.split(separator: ";").first.map { $0.trimmingCharacters(in: " \r") } ?? ""
            guard let size = Int(digits, radix: 16), size >= 0, size <= 1 << 24 else { throw .io("malformed chunk size \(line)") }
            if size == 0 { return (out, true) }
            remaining = size
        }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
