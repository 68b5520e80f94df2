/// An HTTP response: what handlers return and what the client parser yields.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Reason phrase; nil means the standard one for `status`.
    public var reason: String?
    /// Written as `Content-Type` when set.
    public var contentType: String?
    /// Extra fields. `Content-Length`, `Transfer-Encoding` and `Connection`
    /// are owned by `serialize` and skipped here.
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// A body that is written as it comes (chunked), after `body`: the
    /// connection then serves nothing else until the stream finishes.
    public var stream: HTTPStream?

    public init(status: Int = 200, reason: String? = nil, contentType: String? = nil,
                headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.reason = reason
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// Whether a response with this status never has a body (RFC 9110 6.4.1).
    public static func statusForbidsBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }

    /// Appends the whole message. `keepAlive: false` adds `Connection: close`
    /// (the caller closes after writing). `isResponseToHEAD` keeps the
    /// Content-Length of the body but does not write the body.
    public func serialize(into output: inout [UInt8], keepAlive: Bool, isResponseToHEAD: Bool = false) {
        output.reserveCapacity(output.count + 128 + body.count)
        output.append(contentsOf: HTTPBytes.statusLinePrefix)
        appendDecimal(status, to: &output)
        output.append(0x20)
        appendFieldValue(reason ?? HTTPResponse.reasonPhrase(for: status), to: &output)
        output.append(contentsOf: HTTPBytes.crlf)
        if let contentType {
            output.append(contentsOf: HTTPBytes.contentType)
            appendFieldValue(contentType, to: &output)
            output.append(contentsOf: HTTPBytes.crlf)
        }
        for field in headers where !Self.isFramingField(field.name) {
            output.append(contentsOf: field.name.utf8)
            output.append(contentsOf: HTTPBytes.colonSpace)
            appendFieldValue(field.value, to: &output)
            output.append(contentsOf: HTTPBytes.crlf)
        }
        let bodyAllowed = !Self.statusForbidsBody(status)
        if stream != nil {
            output.append(contentsOf: Array("Transfer-Encoding: chunked\r\n".utf8))
        } else if bodyAllowed {
            output.append(contentsOf: HTTPBytes.contentLength)
            appendDecimal(body.count, to: &output)
            output.append(contentsOf: HTTPBytes.crlf)
        }
        if !keepAlive {
            output.append(contentsOf: HTTPBytes.connectionClose)
        }
        output.append(contentsOf: HTTPBytes.crlf)
        if stream != nil {
            output.append(contentsOf: HTTPStream.chunk(body))
        } else if bodyAllowed && !isResponseToHEAD {
            output.append(contentsOf: body)
        }
    }

    /// The interim response that lets a client waiting on
    /// `Expect: 100-continue` send its body.
    public static let continueHead: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Convenience for tests and small responses.
    public func serialized(keepAlive: Bool = true) -> [UInt8] {
        var output: [UInt8] = []
        serialize(into: &output, keepAlive: keepAlive)
        return output
    }

    /// Copies a value, turning CR, LF and other controls into spaces so a
    /// value built from user input cannot inject header lines.
    private func appendFieldValue(_ value: String, to output: inout [UInt8]) {
        for byte in value.utf8 {
            output.append(byte < 0x20 && byte != 0x09 || byte == 0x7F ? 0x20 : byte)
        }
    }

    private static func isFramingField(_ name: String) -> Bool {
        asciiCaseInsensitiveEquals(name, "Content-Length") || asciiCaseInsensitiveEquals(name, "Transfer-Encoding")
            || asciiCaseInsensitiveEquals(name, "Connection")
    }

    /// The standard reason phrase (RFC 9110 15), "Unknown" for others.
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 101: return "Switching Protocols"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 203: return "Non-Authoritative Information"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 406: return "Not Acceptable"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 416: return "Range Not Satisfiable"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 426: return "Upgrade Required"
        case 428: return "Precondition Required"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 505: return "HTTP Version Not Supported"
        default: return "Unknown"
        }
    }
}

/// Constant byte strings of the wire format, built once.
enum HTTPBytes {
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let colonSpace: [UInt8] = [UInt8(ascii: ":"), 0x20]
    static let statusLinePrefix: [UInt8] = Array("HTTP/1.1 ".utf8)
    static let contentType: [UInt8] = Array("Content-Type: ".utf8)
    static let contentLength: [UInt8] = Array("Content-Length: ".utf8)
    static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
}

/// Decimal digits without a String round trip.
func appendDecimal(_ value: Int, to output: inout [UInt8]) {
    if value < 0 { output.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                 UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    withUnsafeMutableBytes(of: &digits) { scratch in
        repeat {
            scratch[scratch.count - 1 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            count += 1
        } while magnitude > 0
        output.append(contentsOf: scratch[(scratch.count - count)...])
    }
}

/// The writing end of a streamed response body (`/v1/agent/monitor`):
/// each `send` goes out as one chunk; `finish` ends the body and the
/// connection. `onCancel` runs if the client goes away first.
/// Loop-confined (the server's loop), like the session that owns it.
public final class HTTPStream: @unchecked Sendable {
    /// Writes a chunk unless the client is this far behind (then false).
    var sink: (([UInt8]) -> Bool)?
    /// What a client that stops reading may leave queued before chunks are refused.
    public static let backlogLimit = 1 << 20
    var end: (() -> Void)?
    public var onCancel: () -> Void = {}
    public private(set) var isClosed = false

    public init() {}

    /// Sends one chunk; false (and nothing queued) when the client has
    /// `backlogLimit` bytes unread, or the stream has ended.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        guard !isClosed else { return false }
        guard !bytes.isEmpty else { return true }
        return sink?(Self.chunk(bytes)) ?? false
    }

    public func finish() {
        guard !isClosed else { return }
        isClosed = true
        end?()
        (sink, end) = (nil, nil)
    }

    func cancelled() {
        guard !isClosed else { return }
        isClosed = true
        (sink, end) = (nil, nil)
        onCancel()
    }

    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        return Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [0x0d, 0x0a]
    }
}
