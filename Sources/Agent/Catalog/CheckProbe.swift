import Sockets

/// HTTP and TCP health probes, non-blocking on the agent's event loop.
/// Outputs follow Consul's wording so dashboards read the same.
public enum CheckProbe {
    public typealias Completion = (Catalog.HealthStatus, String) -> Void

    /// An `http://` URL whose host is an IP literal or localhost.
    struct HTTPTarget {
        let endpoint: Endpoint
        let host: String
        let path: String

        init?(_ url: String) {
            guard url.hasPrefix("http://") else { return nil }
            let rest = url.dropFirst(7)
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            let path = String(rest.dropFirst(authority.count))
            guard !authority.isEmpty, let endpoint = CheckProbe.endpoint(String(authority), defaultPort: 80) else { return nil }
            self.endpoint = endpoint
            host = String(authority)
            self.path = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : path)
        }
    }

    static func tcpEndpoint(_ text: String) -> Endpoint? {
        guard text.contains(":") else { return nil }
        return endpoint(text, defaultPort: 0).flatMap { $0.port == 0 ? nil : $0 }
    }

    /// "ip[:port]", "[v6][:port]" or "localhost[:port]".
    static func endpoint(_ text: String, defaultPort: UInt16) -> Endpoint? {
        if text == "localhost" { return Endpoint(ip: "127.0.0.1", port: defaultPort) }
        if text.hasPrefix("localhost:"), let port = UInt16(text.dropFirst(10)) { return Endpoint(ip: "127.0.0.1", port: port) }
        return Endpoint(parsing: text, defaultPort: defaultPort)
    }

    /// TCP: passing if the connection is accepted within the timeout.
    public static func tcp(_ target: String, timeout: Duration, loop: EventLoop, completion: @escaping Completion) {
        guard let endpoint = tcpEndpoint(target) else { return completion(.critical, "invalid TCP address \(target)") }
        let once = Once(completion)
        do {
            let connection = try TCPConnection.connect(to: endpoint, loop: loop, timeout: timeout)
            connection.onConnected = { conn in
                once.call(.passing, "TCP connect \(target): Success")
                conn.close()
            }
            connection.onClose = { _, error in
                once.call(.critical, "dial tcp \(target): \(error.map { "\($0)" } ?? "connection closed")")
            }
        } catch {
            once.call(.critical, "dial tcp \(target): \(error)")
        }
    }

    /// HTTP: 2xx passing, 429 warning, anything else (or no answer within
    /// the timeout) critical. The output keeps the start of the body.
    public static func http(_ url: String, method: String = "GET", timeout: Duration, loop: EventLoop,
                            completion: @escaping Completion) {
        guard let target = HTTPTarget(url) else { return completion(.critical, "invalid HTTP check URL \(url)") }
        let once = Once(completion)
        var received: [UInt8] = []
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(to: target.endpoint, loop: loop, timeout: timeout)
        } catch {
            return once.call(.critical, "Get \"\(url)\": \(error)")
        }
        let deadline = loop.schedule(after: timeout) { [weak connection] in
            once.call(.critical, "Get \"\(url)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
            connection?.close()
        }
        connection.onConnected = { conn in
            let request = "\(method) \(target.path) HTTP/1.1\r\nHost: \(target.host)\r\nUser-Agent: Consul Health Check\r\n"
                + "Accept: text/plain, text/*, */*\r\nConnection: close\r\n\r\n"
            conn.write(Array(request.utf8))
        }
        connection.onBytes = { conn, bytes in
            received.append(contentsOf: bytes.prefix(max(0, 64 * 1024 - received.count)))
            if received.count >= 64 * 1024 { conn.close() }
        }
        connection.onClose = { _, error in
            loop.cancel(deadline)
            guard let (status, reason, body) = parseResponse(received) else {
                return once.call(.critical, "Get \"\(url)\": \(error.map { "\($0)" } ?? "malformed HTTP response")")
            }
            let health: Catalog.HealthStatus = (200..<300).contains(status) ? .passing : status == 429 ? .warning : .critical
            let output = "HTTP \(method) \(url): \(status) \(reason) Output: " + String(decoding: body.prefix(Catalog.maxOutputBytes - 200), as: UTF8.self)
            once.call(health, output)
        }
    }

    /// Status code, reason and body of a raw HTTP/1.x response (headers skipped).
    static func parseResponse(_ bytes: [UInt8]) -> (Int, String, [UInt8])? {
        guard let lineEnd = bytes.firstIndex(of: 0x0a) else { return nil }
        let line = String(decoding: bytes[..<lineEnd], as: UTF8.self).trimmingWhitespace()
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            return nil
        }
        let marker: [UInt8] = [13, 10, 13, 10]
        var bodyStart = bytes.count
        if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where Array(bytes[i..<i + 4]) == marker {
                bodyStart = i + 4
                break
            }
        }
        return (status, parts.count > 2 ? String(parts[2]) : "", Array(bytes[bodyStart...]))
    }

    /// Calls the completion at most once (a probe can end several ways).
    final class Once {
        private var completion: Completion?
        init(_ completion: @escaping Completion) { self.completion = completion }
        func call(_ status: Catalog.HealthStatus, _ output: String) {
            guard let c = completion else { return }
            completion = nil
            c(status, output)
        }
    }
}
