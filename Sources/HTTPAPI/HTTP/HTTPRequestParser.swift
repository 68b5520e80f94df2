/// Incremental HTTP/1.1 request parser: feed bytes as they arrive with
/// `append`, then call `next()` until it returns nil. Several pipelined
/// requests in one read come out one `next()` at a time.
///
/// After an error every later `next()` throws the same error: the caller
/// MUST answer with `error.status` and close the connection, since the
/// position of the next request is unknown.
///
/// What is accepted (RFC 9112, strict where the RFC allows a choice):
/// - lines end in CRLF; a bare LF is 400; empty lines before a request are skipped;
/// - `METHOD SP target SP HTTP/1.x` (other versions 505), token methods,
///   targets of visible ASCII in origin, absolute or `*` form;
/// - HTTP/1.1 requests need exactly one Host header;
/// - no obs-fold, no whitespace before a header's colon;
/// - bodies by Content-Length (identical duplicates allowed) or by
///   `Transfer-Encoding: chunked` alone (other codings 501; both headers 400).
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPLimits
    private var buffer = InputBuffer()
    private var scanner = HeadScanner()
    private var failure: HTTPParseError?

    /// The request whose body is being read, if any.
    private var pending: PendingRequest?

    private struct PendingRequest {
        var method: String
        var target: String
        var parts: RequestTarget
        var version: HTTPVersion
        var headers: HTTPHeaders
        var body: [UInt8] = []
        var framing: BodyFraming
        var chunked = ChunkedBodyDecoder()
        /// `Expect: 100-continue` seen and not yet answered.
        var expectsContinue = false

        func finished() -> HTTPRequest {
            HTTPRequest(method: method, target: target, parts: parts, version: version, headers: headers, body: body)
        }
    }

    public init(limits: HTTPLimits = .server) {
        self.limits = limits
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(bytes) }

    public mutating func append(_ bytes: [UInt8]) { buffer.append(bytes) }

    /// Bytes received but not yet returned as part of a request.
    public var bufferedByteCount: Int { buffer.available }

    /// True between requests with nothing buffered: closing now loses nothing.
    public var isIdle: Bool { pending == nil && buffer.isEmpty }

    /// True once per request whose head carried `Expect: 100-continue` while
    /// its body has not fully arrived. The server SHOULD then write
    /// `HTTPResponse.continueHead`, or clients such as curl wait a second
    /// before sending the body.
    public mutating func takeExpectContinue() -> Bool {
        guard pending?.expectsContinue == true else { return false }
        pending?.expectsContinue = false
        return true
    }

    /// The next complete request, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        if let failure { throw failure }
        do {
            return try advance()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func advance() throws(HTTPParseError) -> HTTPRequest? {
        if pending == nil {
            guard let head = try readHead() else { return nil }
            pending = head
        }
        guard var request = pending else { return nil }
        switch request.framing {
        case .none, .untilClose:
            break
        case .contentLength(let length):
            guard buffer.available >= length else { return nil }
            request.body = Array(buffer.take(length))
        case .chunked:
            // Decode in place so the growing body is not copied per call.
            pending = nil
            let done = try request.chunked.decode(&buffer, into: &request.body, limits: limits)
            guard done else {
                pending = request
                return nil
            }
        }
        pending = nil
        return request.finished()
    }

    private mutating func readHead() throws(HTTPParseError) -> PendingRequest? {
        scanner.skipLeadingEmptyLines(&buffer)
        guard let headLength = try scanner.findEnd(in: buffer) else {
            guard buffer.available <= limits.maxHeaderBytes else { throw HTTPParseError(.headersTooLarge) }
            return nil
        }
        guard headLength <= limits.maxHeaderBytes else { throw HTTPParseError(.headersTooLarge) }
        let (startLine, headers) = try parseHead(buffer.take(headLength), limits: limits)
        let (method, target, version) = try Self.parseRequestLine(startLine)
        let parts = try RequestTarget(parsing: target, method: method)
        if version == .http11 {
            let hosts = headers.values("Host")
            guard !hosts.isEmpty else { throw HTTPParseError(.missingHost) }
            guard hosts.count == 1 else { throw HTTPParseError(.multipleHost) }
        }
        let framing = try bodyFraming(headers: headers, version: version, limits: limits, noLengthMeansUntilClose: false)
        var request = PendingRequest(method: method, target: target, parts: parts, version: version,
                                     headers: headers, framing: framing)
        request.expectsContinue = version == .http11 && framing != .none
            && headers.containsToken("100-continue", in: "Expect")
        return request
    }

    /// `METHOD SP request-target SP HTTP-version`, single spaces only.
    private static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String, HTTPVersion) {
        let space = UInt8(ascii: " ")
        guard let firstSpace = line.firstIndex(of: space) else { throw HTTPParseError(.invalidRequestLine) }
        let method = line[..<firstSpace]
        let afterMethod = line[(firstSpace + 1)...]
        guard let secondSpace = afterMethod.firstIndex(of: space) else { throw HTTPParseError(.invalidRequestLine) }
        let target = afterMethod[..<secondSpace]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { throw HTTPParseError(.invalidMethod) }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw HTTPParseError(.invalidTarget) }
        let version = try parseVersion(afterMethod[(secondSpace + 1)...])
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), version)
    }
}
