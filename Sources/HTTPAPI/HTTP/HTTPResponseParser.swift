/// Incremental HTTP/1.x response parser for the client side. Same input
/// rules as `HTTPRequestParser`; bodies may also run until the connection
/// closes, so call `finish()` at EOF. Interim 1xx responses are skipped.
public struct HTTPResponseParser: Sendable {
    public let limits: HTTPLimits
    /// A response to HEAD has headers only, whatever Content-Length says.
    public let requestMethod: String
    private var buffer = InputBuffer()
    private var scanner = HeadScanner()
    private var failure: HTTPParseError?
    private var pending: PendingResponse?

    private struct PendingResponse {
        var response: HTTPResponse
        var framing: BodyFraming
        var chunked = ChunkedBodyDecoder()
    }

    public init(requestMethod: String = "GET", limits: HTTPLimits = .client) {
        self.requestMethod = requestMethod
        self.limits = limits
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(bytes) }

    public mutating func append(_ bytes: [UInt8]) { buffer.append(bytes) }

    /// The next complete final response, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPResponse? {
        if let failure { throw failure }
        do {
            return try advance()
        } catch {
            failure = error
            throw error
        }
    }

    /// The connection reached EOF: completes a close-delimited body, returns
    /// nil if nothing was pending, throws `.truncatedMessage` otherwise.
    public mutating func finish() throws(HTTPParseError) -> HTTPResponse? {
        if let response = try next() { return response }
        if var waiting = pending, waiting.framing == .untilClose {
            pending = nil
            waiting.response.body.append(contentsOf: buffer.take(buffer.available))
            return waiting.response
        }
        guard pending == nil && buffer.isEmpty else {
            failure = HTTPParseError(.truncatedMessage)
            throw HTTPParseError(.truncatedMessage)
        }
        return nil
    }

    private mutating func advance() throws(HTTPParseError) -> HTTPResponse? {
        while pending == nil {
            guard let head = try readHead() else { return nil }
            // 1xx are interim (100 Continue): the real response follows.
            if (100..<200).contains(head.response.status) && head.response.status != 101 { continue }
            pending = head
        }
        guard var waiting = pending else { return nil }
        pending = nil
        switch waiting.framing {
        case .none:
            break
        case .contentLength(let length):
            guard buffer.available >= length else {
                pending = waiting
                return nil
            }
            waiting.response.body = Array(buffer.take(length))
        case .chunked:
            guard try waiting.chunked.decode(&buffer, into: &waiting.response.body, limits: limits) else {
                pending = waiting
                return nil
            }
        case .untilClose:
            // Move what arrived into the body now so the buffer stays small.
            waiting.response.body.append(contentsOf: buffer.take(buffer.available))
            guard waiting.response.body.count <= limits.maxBodyBytes else { throw HTTPParseError(.bodyTooLarge) }
            pending = waiting
            return nil
        }
        return waiting.response
    }

    private mutating func readHead() throws(HTTPParseError) -> PendingResponse? {
        guard let headLength = try scanner.findEnd(in: buffer) else {
            guard buffer.available <= limits.maxHeaderBytes else { throw HTTPParseError(.headersTooLarge) }
            return nil
        }
        guard headLength <= limits.maxHeaderBytes else { throw HTTPParseError(.headersTooLarge) }
        let (statusLine, headers) = try parseHead(buffer.take(headLength), limits: limits)
        let (version, status, reason) = try Self.parseStatusLine(statusLine)
        let framing: BodyFraming
        if requestMethod == "HEAD" || HTTPResponse.statusForbidsBody(status) {
            framing = .none
        } else {
            framing = try bodyFraming(headers: headers, version: version, limits: limits, noLengthMeansUntilClose: true)
        }
        let response = HTTPResponse(status: status, reason: reason, headers: headers)
        return PendingResponse(response: response, framing: framing)
    }

    /// `HTTP/1.1 SP 3DIGIT SP [reason]` (a missing reason is tolerated).
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPVersion, Int, String) {
        guard line.count >= 12, line[line.startIndex + 8] == UInt8(ascii: " ") else { throw HTTPParseError(.invalidStatusLine) }
        let version = try parseVersion(line.prefix(8))
        let code = line[(line.startIndex + 9)..<(line.startIndex + 12)]
        guard code.allSatisfy(isDigit), let first = code.first, first != UInt8(ascii: "0") else {
            throw HTTPParseError(.invalidStatusLine)
        }
        let status = code.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let rest = line[(line.startIndex + 12)...]
        guard rest.isEmpty || rest.first == UInt8(ascii: " ") else { throw HTTPParseError(.invalidStatusLine) }
        let reason = rest.dropFirst()
        guard reason.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { throw HTTPParseError(.invalidStatusLine) }
        return (version, status, String(decoding: reason, as: UTF8.self))
    }
}
