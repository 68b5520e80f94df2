import Dispatch
import Glibc
import Sockets

/// TCP, UDP and HTTP health probes, non-blocking on the agent's event loop
/// (names are resolved on another thread). Outputs follow Consul's wording
/// so dashboards read the same.
public enum CheckProbe {
    public typealias Completion = (Catalog.HealthStatus, String) -> Void

    /// An `http://` or `https://` URL as a check requests it.
    struct URL: Equatable {
        var secure: Bool
        /// A name or an address (IPv6 without brackets).
        var host: String
        var port: UInt16
        /// What the Host header says (the authority as written).
        var authority: String
        /// Path and query, at least "/".
        var target: String

        init?(_ text: String) {
            let lower = text.lowercased()
            if lower.hasPrefix("http://") { secure = false } else if lower.hasPrefix("https://") { secure = true } else { return nil }
            let rest = text.dropFirst(secure ? 8 : 7)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            var path = String(rest.dropFirst(authority.count).prefix { $0 != "#" })
            guard let (host, port) = CheckProbe.hostPort(String(authority), defaultPort: secure ? 443 : 80),
                  text.utf8.count <= 8192, !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) else { return nil }
            if path.hasPrefix("?") { path = "/" + path }
            self.host = host
            self.port = port
            self.authority = String(authority)
            target = path.isEmpty ? "/" : path
        }

        /// Where a redirect's `Location` points from here (absolute,
        /// scheme-relative, absolute-path or relative).
        func following(_ location: String) -> URL? {
            if location.lowercased().hasPrefix("http://") || location.lowercased().hasPrefix("https://") { return URL(location) }
            let scheme = secure ? "https:" : "http:"
            if location.hasPrefix("//") { return URL(scheme + location) }
            if location.hasPrefix("/") { return URL(scheme + "//" + authority + location) }
            let path = target.prefix { $0 != "?" }
            let directory = path[...(path.lastIndex(of: "/") ?? path.startIndex)]
            return URL(scheme + "//" + authority + directory + location)
        }
    }

    /// "host:port", "[v6]:port", "ip:port"; the port may be left out only
    /// where there is a default.
    static func hostPort(_ text: String, defaultPort: UInt16? = nil) -> (String, UInt16)? {
        var host = Substring(text), portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard IPAddress.parse(String(host)) != nil else { return nil }
        } else if let colon = text.lastIndex(of: ":") {
            guard !text[..<colon].contains(":") else { return nil }  // a bare IPv6 address needs brackets
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let port: UInt16
        if let portText {
            guard let p = UInt16(portText), p != 0 else { return nil }
            port = p
        } else {
            guard let defaultPort else { return nil }
            port = defaultPort
        }
        guard !host.isEmpty, host.utf8.count <= 253,
              host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") }) else { return nil }
        return (String(host), port)
    }

    /// The endpoint of `host`: at once for an address, else resolved off
    /// the loop (getaddrinfo blocks) and handed back on it.
    static func resolve(_ host: String, port: UInt16, loop: EventLoop, _ done: @escaping (Endpoint?) -> Void) {
        if IPAddress.parse(host) != nil {
            return done(Endpoint(parsing: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)", defaultPort: port))
        }
        let box = UncheckedBox(done)
        DispatchQueue.global().async {
            let endpoint = Resolver.endpoints(for: "\(host):\(port)", defaultPort: port).first
            loop.execute { box.value(endpoint) }
        }
    }

    /// TCP: passing if the connection is accepted within the timeout.
    public static func tcp(_ target: String, timeout: Duration, loop: EventLoop, completion: @escaping Completion) {
        guard let (host, port) = hostPort(target) else { return completion(.critical, "invalid TCP address \(target)") }
        let once = Once(completion)
        resolve(host, port: port, loop: loop) { endpoint in
            guard let endpoint else { return once.call(.critical, "dial tcp \(target): lookup \(host): no such host") }
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
    }

    /// UDP as Consul probes it: a datagram is sent; an ICMP error (seen as
    /// ECONNREFUSED on the connected socket) is critical, and an answer or
    /// silence until the timeout is passing — UDP has no handshake.
    public static func udp(_ target: String, timeout: Duration, loop: EventLoop, completion: @escaping Completion) {
        guard let (host, port) = hostPort(target) else { return completion(.critical, "invalid UDP address \(target)") }
        let once = Once(completion)
        resolve(host, port: port, loop: loop) { endpoint in
            guard let endpoint else { return once.call(.critical, "dial udp \(target): lookup \(host): no such host") }
            let socket: Socket
            do {
                socket = try Socket.udp(family: AddressFamily.of(endpoint))
                try socket.startConnect(to: endpoint)
            } catch {
                return once.call(.critical, "dial udp \(target): \(error)")
            }
            var finished = false
            func finish(_ status: Catalog.HealthStatus, _ output: String) {
                guard !finished else { return }
                finished = true
                loop.deregister(socket.fd)
                socket.close()
                once.call(status, output)
            }
            let timer = loop.schedule(after: timeout) { finish(.passing, "UDP connect \(target): Success") }
            loop.register(socket.fd, events: EventLoop.readable | EventLoop.failed) { _ in
                var byte: UInt8 = 0
                let n = recv(socket.fd, &byte, 1, Int32(MSG_DONTWAIT))
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                loop.cancel(timer)
                if n < 0 {
                    finish(.critical, "UDP connect \(target): Failed: \(String(cString: strerror(errno)))")
                } else {
                    finish(.passing, "UDP connect \(target): Success")
                }
            }
            let ping: [UInt8] = Array("PING".utf8)
            let sent = ping.withUnsafeBytes { send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if sent < 0 {
                loop.cancel(timer)
                finish(.critical, "UDP connect \(target): Failed: \(String(cString: strerror(errno)))")
            }
        }
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
