// Pieces shared by the request and response parsers: the input buffer,
// finding the end of a head, header-field syntax and body framing.
//
// Line endings: only CRLF is accepted. A bare LF anywhere in a head is a 400
// (RFC 9112 2.2 allows either choice; rejecting removes a class of
// request-smuggling disagreements with proxies in front of us).

private let cr: UInt8 = 0x0D
private let lf: UInt8 = 0x0A

/// Received bytes not yet consumed. Consumed bytes are discarded in
/// `append` once they make up half the storage, so memory stays bounded
/// by what is actually pending and each byte is moved O(1) times.
struct InputBuffer {
    private(set) var storage: [UInt8] = []
    var readIndex = 0

    var available: Int { storage.count - readIndex }
    var isEmpty: Bool { readIndex == storage.count }

    subscript(index: Int) -> UInt8 { storage[index] }
    var endIndex: Int { storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        storage.append(contentsOf: bytes)
    }

    /// Takes `count` bytes from the read position.
    mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let slice = storage[readIndex..<(readIndex + count)]
        readIndex += count
        return slice
    }

    private mutating func compact() {
        if readIndex == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 256 * 1024)
            readIndex = 0
        } else if readIndex > 0 && readIndex >= storage.count / 2 {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}

/// Finds the empty line ending a head, resuming where the last call stopped
/// so a head arriving byte by byte is scanned once.
struct HeadScanner {
    private var scanned = 0

    mutating func reset() { scanned = 0 }

    /// The head's length including its final CRLFCRLF, or nil when more
    /// bytes are needed. Throws on a bare LF.
    mutating func findEnd(in buffer: InputBuffer) throws(HTTPParseError) -> Int? {
        let start = buffer.readIndex
        var index = start + scanned
        while index < buffer.endIndex {
            if buffer[index] == lf {
                guard index > start, buffer[index - 1] == cr else { throw HTTPParseError(.bareLineFeed) }
                // "\r\n\r\n": the previous line was empty.
                if index - start >= 3 && buffer[index - 2] == lf {
                    scanned = 0
                    return index - start + 1
                }
            }
            index += 1
        }
        scanned = index - start
        return nil
    }

    /// Skips CRLFs before a start line (RFC 9112 2.2: a server SHOULD ignore
    /// at least one empty line before a request, e.g. after a POST body).
    /// Call only between messages; resets the scan when it skips anything.
    mutating func skipLeadingEmptyLines(_ buffer: inout InputBuffer) {
        while buffer.available >= 2 && buffer[buffer.readIndex] == cr && buffer[buffer.readIndex + 1] == lf {
            buffer.readIndex += 2
            scanned = 0
        }
    }
}

/// Splits a complete head into its start line and validated header fields.
func parseHead(_ head: ArraySlice<UInt8>, limits: HTTPLimits) throws(HTTPParseError) -> (startLine: ArraySlice<UInt8>, headers: HTTPHeaders) {
    // Every LF is preceded by CR (HeadScanner checked it). Without the final
    // empty line's CRLF, the head is a sequence of "line CRLF".
    let content = head.dropLast(2)
    var lineStart = content.startIndex
    var startLine: ArraySlice<UInt8>?
    var headers = HTTPHeaders()
    while let newline = content[lineStart...].firstIndex(of: lf) {
        let line = content[lineStart..<(newline - 1)]
        lineStart = newline + 1
        guard startLine != nil else {
            startLine = line
            continue
        }
        guard headers.count < limits.maxHeaderCount else { throw HTTPParseError(.tooManyHeaders) }
        let field = try parseHeaderField(line)
        headers.add(field.name, field.value)
    }
    guard let startLine else { throw HTTPParseError(.invalidRequestLine) }
    return (startLine, headers)
}

/// `name: value` (RFC 9110 5.5, RFC 9112 5): token name directly followed by
/// a colon, OWS trimmed; control characters other than HTAB rejected.
private func parseHeaderField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
    guard let first = line.first else { throw HTTPParseError(.headerWithoutColon) }
    if first == 0x20 || first == 0x09 { throw HTTPParseError(.obsoleteLineFolding) }
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPParseError(.headerWithoutColon) }
    let name = line[..<colon]
    guard !name.isEmpty, name.allSatisfy(isTokenByte) else { throw HTTPParseError(.invalidHeaderName) }
    var value = line[(colon + 1)...]
    while let byte = value.first, byte == 0x20 || byte == 0x09 { value = value.dropFirst() }
    while let byte = value.last, byte == 0x20 || byte == 0x09 { value = value.dropLast() }
    guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { throw HTTPParseError(.invalidHeaderValue) }
    return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
}

/// `HTTP/1.1` -> version. Other 1-digit versions are well-formed but
/// unsupported (505); anything else is malformed.
func parseVersion(_ bytes: ArraySlice<UInt8>) throws(HTTPParseError) -> HTTPVersion {
    let prefix: [UInt8] = Array("HTTP/".utf8)
    guard bytes.count == 8, bytes.starts(with: prefix) else { throw HTTPParseError(.invalidVersion) }
    let base = bytes.startIndex
    let major = bytes[base + 5], dot = bytes[base + 6], minor = bytes[base + 7]
    guard isDigit(major), dot == UInt8(ascii: "."), isDigit(minor) else { throw HTTPParseError(.invalidVersion) }
    let version = HTTPVersion(major: Int(major - UInt8(ascii: "0")), minor: Int(minor - UInt8(ascii: "0")))
    guard version == .http10 || version == .http11 else { throw HTTPParseError(.unsupportedVersion) }
    return version
}

@inline(__always)
func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

/// How the body of a message is delimited (RFC 9112 6.3).
enum BodyFraming: Equatable {
    case none
    case contentLength(Int)
    case chunked
    case untilClose
}

/// Framing from the headers. Requests without either header have no body;
/// `noLengthMeansUntilClose` is for responses, whose body then runs to EOF.
func bodyFraming(headers: HTTPHeaders, version: HTTPVersion, limits: HTTPLimits,
                 noLengthMeansUntilClose: Bool) throws(HTTPParseError) -> BodyFraming {
    let transferEncodings = headers.values("Transfer-Encoding")
    let contentLengths = headers.values("Content-Length")
    if !transferEncodings.isEmpty {
        guard contentLengths.isEmpty else { throw HTTPParseError(.contentLengthWithTransferEncoding) }
        guard version != .http10 else { throw HTTPParseError(.transferEncodingInHTTP10) }
        // Only plain `chunked` is supported; `gzip, chunked` etc. are 501.
        let codings = transferEncodings.flatMap { $0.split(separator: ",") }.map(trimmedOWS).filter { !$0.isEmpty }
        guard codings.count == 1, asciiCaseInsensitiveEquals(codings[0], "chunked") else {
            throw HTTPParseError(.unsupportedTransferEncoding)
        }
        return .chunked
    }
    guard !contentLengths.isEmpty else { return noLengthMeansUntilClose ? .untilClose : .none }
    // Repeated or listed values are allowed only if identical (RFC 9110 8.6).
    var length: Int?
    for element in contentLengths.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
        let digits = trimmedOWS(element).utf8
        guard !digits.isEmpty, digits.allSatisfy(isDigit) else { throw HTTPParseError(.invalidContentLength) }
        var value = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { throw HTTPParseError(.bodyTooLarge) }
            value = sum
        }
        if let previous = length, previous != value { throw HTTPParseError(.conflictingContentLength) }
        length = value
    }
    guard let length else { throw HTTPParseError(.invalidContentLength) }
    guard length <= limits.maxBodyBytes else { throw HTTPParseError(.bodyTooLarge) }
    return length == 0 ? .none : .contentLength(length)
}
