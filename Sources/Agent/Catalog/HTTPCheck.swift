import Crypto
import Dispatch
import Sockets

extension CheckProbe {
    /// HTTP(S): 2xx passing, 429 warning, anything else (or no answer
    /// within the timeout) critical. Redirects are followed as Go's client
    /// follows them (Consul's checks use it): at most 10; 301, 302 and 303
    /// turn the request into a GET without a body, 307 and 308 keep both.
    /// The timeout covers the whole exchange, redirects included. The
    /// output keeps the start of the body.
    public static func http(_ url: String, spec: Catalog.CheckSpec = Catalog.CheckSpec(), timeout: Duration, loop: EventLoop,
                            tls: @escaping @Sendable (_ skipVerify: Bool) -> TLSContext? = { _ in nil },
                            completion: @escaping Completion) {
        guard let parsed = URL(url) else { return completion(.critical, "invalid HTTP check URL \(url)") }
        let exchange = HTTPExchange(url: url, spec: spec, loop: loop, tls: tls, completion: completion)
        exchange.deadline = loop.schedule(after: timeout) { [weak exchange] in
            exchange?.fail("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        }
        exchange.request(parsed, method: spec.method, body: spec.body)
    }

    /// One check run: a request and the redirects it leads to.
    final class HTTPExchange {
        let url: String
        let spec: Catalog.CheckSpec
        let loop: EventLoop
        /// May build the context (reading the CA bundle): called off the loop.
        let tls: @Sendable (Bool) -> TLSContext?
        let once: Once
        var deadline: TimerID?
        private var redirects = 0
        private var method = "GET"
        private var connection: TCPConnection?

        init(url: String, spec: Catalog.CheckSpec, loop: EventLoop, tls: @escaping @Sendable (Bool) -> TLSContext?,
             completion: @escaping Completion) {
            self.url = url
            self.spec = spec
            self.loop = loop
            self.tls = tls
            once = Once(completion)
        }

        func fail(_ why: String) {
            finish(.critical, "\(goMethod) \"\(url)\": \(why)")
        }

        /// Go's error text names the method in CamelCase ("Get", "Post").
        private var goMethod: String { method.prefix(1) + method.dropFirst().lowercased() }

        private func finish(_ status: Catalog.HealthStatus, _ output: String) {
            if let deadline { loop.cancel(deadline) }
            deadline = nil
            let c = connection
            connection = nil
            c?.close()
            once.call(status, output)
        }

        func request(_ target: URL, method: String, body: String) {
            self.method = method
            guard target.secure else { return resolve(target, method: method, body: body, context: nil) }
            let (tls, skip, loop) = (tls, spec.tlsSkipVerify, loop)
            let box = UncheckedBox(self)
            DispatchQueue.global().async {
                let context = tls(skip)
                loop.execute { box.value.resolve(target, method: method, body: body, context: context) }
            }
        }

        private func resolve(_ target: URL, method: String, body: String, context: TLSContext?) {
            guard deadline != nil else { return }
            CheckProbe.resolve(target.host, port: target.port, loop: loop) { [self] endpoint in
                guard deadline != nil else { return }
                guard let endpoint else { return fail("dial tcp: lookup \(target.host): no such host") }
                send(to: endpoint, target, method: method, body: body, context: context)
            }
        }

        private func send(to endpoint: Endpoint, _ target: URL, method: String, body: String, context: TLSContext?) {
            let conn: TCPConnection
            do {
                conn = try TCPConnection.connect(to: endpoint, loop: loop, timeout: .seconds(3600))
            } catch {
                return fail("dial tcp \(endpoint): \(error)")
            }
            connection = conn
            if target.secure {
                let serverName = spec.tlsServerName.isEmpty ? target.host : spec.tlsServerName
                guard let context,
                      let session = try? TLSSession(context: context, hostname: spec.tlsSkipVerify ? nil : serverName) else {
                    return fail("tls: cannot set up a TLS client")
                }
                conn.secure(with: session)
            }
            var received: [UInt8] = []
            conn.onConnected = { [self] conn in conn.write(requestBytes(target, method: method, body: body)) }
            conn.onBytes = { conn, bytes in
                received.append(contentsOf: bytes.prefix(max(0, 64 * 1024 - received.count)))
                if received.count >= 64 * 1024 { conn.close() }
            }
            conn.onClose = { [weak self] closed, error in
                guard let self, connection === closed else { return }
                connection = nil
                guard let response = CheckProbe.parseResponse(received) else {
                    return fail(error.map { "\($0)" } ?? "malformed HTTP response")
                }
                answered(response, target, body: body)
            }
        }

        private func answered(_ response: (status: Int, reason: String, headers: [(String, String)], body: [UInt8]),
                              _ target: URL, body: String) {
            if [301, 302, 303, 307, 308].contains(response.status),
               let location = response.headers.first(where: { $0.0.lowercased() == "location" })?.1 {
                redirects += 1
                guard redirects <= 10 else { return fail("stopped after 10 redirects") }
                guard let next = target.following(location) else { return fail("invalid redirect Location \"\(location)\"") }
                let keep = response.status == 307 || response.status == 308
                let nextMethod = keep || method == "HEAD" ? method : "GET"
                return request(next, method: nextMethod, body: keep ? body : "")
            }
            let status = response.status
            let health: Catalog.HealthStatus = (200..<300).contains(status) ? .passing : status == 429 ? .warning : .critical
            let text = String(decoding: response.body.prefix(Catalog.maxOutputBytes - 200), as: UTF8.self)
            finish(health, "HTTP \(spec.method) \(url): \(status) \(response.reason) Output: \(text)")
        }

        /// The request: Consul's User-Agent and Accept unless the check's
        /// headers say otherwise, and the body with its length.
        func requestBytes(_ target: URL, method: String, body: String) -> [UInt8] {
            var headers: [(String, String)] = [("Host", target.authority), ("User-Agent", "Consul Health Check"),
                                               ("Accept", "text/plain, text/*, */*")]
            for (name, values) in spec.headers.sorted(by: { $0.key < $1.key }) {
                headers.removeAll { $0.0.lowercased() == name.lowercased() }
                for value in values { headers.append((name, value)) }
            }
            if !body.isEmpty { headers.append(("Content-Length", String(body.utf8.count))) }
            headers.append(("Connection", "close"))
            var text = "\(method) \(target.target) HTTP/1.1\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            return Array((text + "\r\n" + body).utf8)
        }
    }

    /// Status code, reason, headers and body of a raw HTTP/1.x response.
    static func parseResponse(_ bytes: [UInt8]) -> (status: Int, reason: String, headers: [(String, String)], body: [UInt8])? {
        guard let lineEnd = bytes.firstIndex(of: 0x0a) else { return nil }
        let line = String(decoding: bytes[..<lineEnd], as: UTF8.self).trimmingWhitespace()
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            return nil
        }
        let marker: [UInt8] = [13, 10, 13, 10]
        var headEnd = bytes.count
        if bytes.count >= 4 {
            for i in 0...(bytes.count - 4) where bytes[i] == 13 && Array(bytes[i..<i + 4]) == marker {
                headEnd = i
                break
            }
        }
        var headers: [(String, String)] = []
        // Split as bytes: a Swift String holds "\r\n" as one Character.
        for raw in bytes[min(lineEnd + 1, headEnd)..<headEnd].split(separator: 0x0a) {
            let field = String(decoding: raw, as: UTF8.self)
            guard let colon = field.firstIndex(of: ":") else { continue }
            headers.append((String(field[..<colon]).trimmingWhitespace(), String(field[field.index(after: colon)...]).trimmingWhitespace()))
        }
        let bodyStart = min(bytes.count, headEnd + 4)
        return (status, parts.count > 2 ? String(parts[2]) : "", headers, Array(bytes[bodyStart...]))
    }
}
