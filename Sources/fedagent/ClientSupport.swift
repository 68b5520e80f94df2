import Agent
import Crypto
import Glibc
import HTTPAPI
import JSON

func printError(_ message: String) {
    var line = Array((message + "\n").utf8)
    _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// What every client command shares: `-http-addr`, the environment, and
/// a request helper that turns failures into Consul-like messages.
struct AgentClient {
    static let flagSpecs: [CommandLineFlags.Spec] = [
        .init("http-addr", .string, "Agent HTTP address, https:// for HTTPS (default 127.0.0.1:8500; env FEDAGENT_HTTP_ADDR, CONSUL_HTTP_ADDR)."),
        .init("ca-file", .string, "CA certificate (PEM) the HTTPS API's certificate must chain to (env CONSUL_CACERT)."),
        .init("client-cert", .string, "Client certificate (PEM) for an HTTPS API that verifies clients (env CONSUL_CLIENT_CERT)."),
        .init("client-key", .string, "Key (PEM) of -client-cert (env CONSUL_CLIENT_KEY)."),
        .init("token", .string, "ACL token sent as X-Consul-Token (env CONSUL_HTTP_TOKEN)."),
        .init("tls-server-name", .string, "Name the HTTPS API's certificate must carry (default: the host; env CONSUL_TLS_SERVER_NAME)."),
    ]

    let host: String
    let port: UInt16
    /// HTTPS (an https:// address or CONSUL_HTTP_SSL=true), and the name the server must prove.
    let tls: TLSContext?
    let serverName: String?
    /// The ACL token (`-token`, `CONSUL_HTTP_TOKEN`).
    let token: String?

    /// A flag (if there is one), else `FEDAGENT_<name>`, else `CONSUL_<name>`.
    static func setting(_ flags: CommandLineFlags, _ flag: String?, env name: String) -> String? {
        flag.flatMap { flags.string($0) } ?? getenv("FEDAGENT_" + name).map { String(cString: $0) } ?? getenv("CONSUL_" + name).map { String(cString: $0) }
    }

    init(flags: CommandLineFlags) throws(CommandLineFlags.ParseError) {
        func fail(_ why: String) -> CommandLineFlags.ParseError { CommandLineFlags.ParseError(description: why) }
        var text = Self.setting(flags, "http-addr", env: "HTTP_ADDR") ?? "127.0.0.1:8500"
        var secure = ["true", "1"].contains(Self.setting(flags, nil, env: "HTTP_SSL")?.lowercased() ?? "")
        if text.hasPrefix("https://") { secure = true }
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) { text.removeFirst(scheme.count) }
        if text.hasSuffix("/") { text.removeLast() }
        var host = text, port: UInt16 = secure ? 8501 : 8500
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let p = UInt16(text[text.index(after: colon)...]), p > 0 else {
                throw CommandLineFlags.ParseError(description: "invalid HTTP address \"\(text)\"")
            }
            host = String(text[..<colon])
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw CommandLineFlags.ParseError(description: "invalid HTTP address \"\(text)\"") }
        self.host = host
        self.port = port
        serverName = Self.setting(flags, "tls-server-name", env: "TLS_SERVER_NAME")
        token = Self.setting(flags, "token", env: "HTTP_TOKEN").flatMap { $0.isEmpty ? nil : $0 }
        guard secure else {
            tls = nil
            return
        }
        let verify = !["false", "0"].contains(Self.setting(flags, nil, env: "HTTP_SSL_VERIFY")?.lowercased() ?? "")
        func read(_ flag: String, _ env: String) throws(CommandLineFlags.ParseError) -> String? {
            guard let path = Self.setting(flags, flag, env: env) else { return nil }
            guard let bytes = DataFile.read(path, limit: 1 << 20) else { throw fail("cannot read -\(flag) \(path)") }
            return String(decoding: bytes, as: UTF8.self)
        }
        let ca = try read("ca-file", "CACERT"), cert = try read("client-cert", "CLIENT_CERT"), key = try read("client-key", "CLIENT_KEY")
        guard (cert == nil) == (key == nil) else { throw fail("-client-cert and -client-key go together") }
        do {
            tls = try TLSContext(role: .client, certificatePEM: cert, keyPEM: key, authorityPEM: ca, verifyPeer: verify)
        } catch {
            throw fail("TLS: \(error)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends a request; non-2xx answers become errors carrying the agent's message.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil, timeout: Int = 30) throws(Failure) -> [UInt8] {
        try exchange(method, path, body: body, timeout: timeout).body
    }

    /// `call`, with the answer's headers (`X-Consul-Index` for blocking reads).
    func exchange(_ method: String, _ path: String, body: [UInt8]? = nil,
                  timeout: Int = 30) throws(Failure) -> (headers: HTTPHeaders, body: [UInt8]) {
        let response: (status: Int, headers: HTTPHeaders, body: [UInt8])
        do {
            response = try HTTPClient.send(method: method, host: host, port: port, path: path, body: body,
                                           headers: token.map { [("X-Consul-Token", $0)] } ?? [],
                                           timeoutSeconds: timeout, tls: tls, serverName: serverName)
        } catch {
            throw Failure(description: "Error connecting to the agent at \(host):\(port): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body, as: UTF8.self).trimmingCharacters()
            throw Failure(description: "Unexpected response code: \(response.status) (\(text))")
        }
        return (response.headers, response.body)
    }

    func callJSON(_ method: String, _ path: String) throws(Failure) -> JSONValue {
        let body = try call(method, path)
        do {
            return try JSONValue.parse(body)
        } catch {
            throw Failure(description: "bad JSON from the agent: \(error)")
        }
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// Percent-encodes a path segment (node names, addresses).
func pathEscape(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        let c = Character(Unicode.Scalar(b))
        if c.isLetter && b < 0x80 || c.isNumber && b < 0x80 || "-._~:[]".contains(c) {
            out.append(c)
        } else {
            out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
        }
    }
    return out
}
