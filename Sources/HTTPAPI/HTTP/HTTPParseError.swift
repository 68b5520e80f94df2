/// Size limits applied while parsing a message. Everything a peer can make
/// us buffer is bounded by one of these.
public struct HTTPLimits: Sendable, Equatable {
    /// Start line plus header fields plus the empty line (and, separately,
    /// the trailer block of a chunked body). Exceeding it is 431.
    public var maxHeaderBytes: Int
    /// Number of header fields. Exceeding it is 431.
    public var maxHeaderCount: Int
    /// Decoded body size. Exceeding it is 413.
    public var maxBodyBytes: Int
    /// One chunk-size line of a chunked body, extensions included (400).
    public var maxChunkLineBytes: Int

    public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                maxBodyBytes: Int = 512 * 1024, maxChunkLineBytes: Int = 1024) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }

    /// Server side defaults: 16 KiB head, 100 fields, 512 KiB body.
    public static let server = HTTPLimits()
    /// For reading responses in the CLI: catalog dumps can be large.
    public static let client = HTTPLimits(maxHeaderBytes: 64 * 1024, maxHeaderCount: 200,
                                          maxBodyBytes: 64 * 1024 * 1024)
}

/// Why a message was rejected, with the status a server should answer
/// before closing the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidRequestLine
        case invalidMethod
        case invalidTarget
        case invalidVersion
        case unsupportedVersion
        case invalidStatusLine
        case bareLineFeed
        case obsoleteLineFolding
        case headerWithoutColon
        case invalidHeaderName
        case invalidHeaderValue
        case missingHost
        case multipleHost
        case headersTooLarge
        case tooManyHeaders
        case invalidContentLength
        case conflictingContentLength
        case contentLengthWithTransferEncoding
        case transferEncodingInHTTP10
        case unsupportedTransferEncoding
        case invalidChunk
        case bodyTooLarge
        case truncatedMessage
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// The response status for this error: 400 unless a more precise code
    /// exists (413, 431, 501, 505).
    public var status: Int {
        switch kind {
        case .headersTooLarge, .tooManyHeaders: return 431
        case .bodyTooLarge: return 413
        case .unsupportedTransferEncoding: return 501
        case .unsupportedVersion: return 505
        default: return 400
        }
    }

    public var message: String {
        switch kind {
        case .invalidRequestLine: return "malformed request line"
        case .invalidMethod: return "invalid method"
        case .invalidTarget: return "invalid request target"
        case .invalidVersion: return "malformed HTTP version"
        case .unsupportedVersion: return "HTTP version not supported"
        case .invalidStatusLine: return "malformed status line"
        case .bareLineFeed: return "line not terminated by CRLF"
        case .obsoleteLineFolding: return "obsolete header line folding"
        case .headerWithoutColon: return "header line without colon"
        case .invalidHeaderName: return "invalid header name"
        case .invalidHeaderValue: return "invalid character in header value"
        case .missingHost: return "missing Host header"
        case .multipleHost: return "multiple Host headers"
        case .headersTooLarge: return "header block too large"
        case .tooManyHeaders: return "too many header fields"
        case .invalidContentLength: return "invalid Content-Length"
        case .conflictingContentLength: return "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: return "both Content-Length and Transfer-Encoding"
        case .transferEncodingInHTTP10: return "Transfer-Encoding in an HTTP/1.0 message"
        case .unsupportedTransferEncoding: return "unsupported transfer coding"
        case .invalidChunk: return "malformed chunked body"
        case .bodyTooLarge: return "body too large"
        case .truncatedMessage: return "connection closed mid-message"
        }
    }

    public var description: String { "\(status) \(message)" }
}
