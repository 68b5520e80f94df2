import Agent
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
        .init("http-addr", .string, "Agent HTTP address (default 127.0.0.1:8500; env FEDAGENT_HTTP_ADDR, CONSUL_HTTP_ADDR)."),
    ]

    let host: String
    let port: UInt16

    init(flags: CommandLineFlags) throws(CommandLineFlags.ParseError) {
        var text = flags.string("http-addr")
            ?? getenv("FEDAGENT_HTTP_ADDR").map { String(cString: $0) }
            ?? getenv("CONSUL_HTTP_ADDR").map { String(cString: $0) }
            ?? "127.0.0.1:8500"
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) { text.removeFirst(scheme.count) }
        if text.hasSuffix("/") { text.removeLast() }
        var host = text, port: UInt16 = 8500
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
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends a request; non-2xx answers become errors carrying the agent's message.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil, timeout: Int = 30) throws(Failure) -> [UInt8] {
        let response: (status: Int, headers: HTTPHeaders, body: [UInt8])
        do {
            response = try HTTPClient.send(method: method, host: host, port: port, path: path, body: body,
                                           timeoutSeconds: timeout)
        } catch {
            throw Failure(description: "Error connecting to the agent at \(host):\(port): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            let text = String(decoding: response.body, as: UTF8.self).trimmingCharacters()
            throw Failure(description: "Unexpected response code: \(response.status) (\(text))")
        }
        return response.body
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
