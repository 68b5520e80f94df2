public struct HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http10 = HTTPVersion(major: 1, minor: 0)
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }
}

/// One parsed HTTP/1.x request.
public struct HTTPRequest: Sendable {
    /// As sent (methods are case-sensitive: `GET`, `PUT`, ...).
    public var method: String
    /// The request target exactly as sent (`/v1/kv/a%2Fb?recurse`).
    public var target: String
    /// The path before `?`, still percent-encoded.
    public var rawPath: String
    /// The percent-decoded path (`+` stays `+`), what Consul routes on.
    public var path: String
    /// The raw path split on `/` (after the leading one) and decoded per
    /// segment, so an encoded `%2F` stays inside its segment:
    /// `/v1/kv/a%2Fb/` -> `["v1", "kv", "a/b", ""]`.
    public var pathSegments: [String]
    /// The query string after `?`, undecoded ("" when absent).
    public var rawQuery: String
    public var query: HTTPQuery
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]

    /// Builds a request from parts, deriving path and query from `target`
    /// (for handler tests and internal forwarding). An invalid escape in the
    /// path leaves `path` raw instead of failing.
    public init(method: String, target: String, version: HTTPVersion = .http11,
                headers: HTTPHeaders = [:], body: [UInt8] = []) {
        let parts = (try? RequestTarget(parsing: target, method: method)) ?? RequestTarget(lenient: target)
        self.init(method: method, target: target, parts: parts, version: version, headers: headers, body: body)
    }

    init(method: String, target: String, parts: RequestTarget, version: HTTPVersion,
         headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        self.target = target
        self.rawPath = parts.rawPath
        self.path = parts.path
        self.pathSegments = parts.segments
        self.rawQuery = parts.rawQuery
        self.query = HTTPQuery(parsing: parts.rawQuery)
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// Whether the connection may stay open after the response (RFC 9112
    /// 9.3): HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`.
    public var keepAlive: Bool {
        if headers.containsToken("close", in: "Connection") { return false }
        if version.major == 1 && version.minor == 0 { return headers.containsToken("keep-alive", in: "Connection") }
        return version.major >= 1
    }
}

/// The pieces of a request target. Origin form (`/path?query`), absolute
/// form (`http://host/path?query`, the authority is ignored) and `*` (only
/// for OPTIONS) are accepted; a `#` is not allowed in a request target.
struct RequestTarget {
    var rawPath: String
    var path: String
    var segments: [String]
    var rawQuery: String

    init(parsing target: String, method: String) throws(HTTPParseError) {
        var bytes = Substring(target).utf8[...]
        guard let first = bytes.first, !bytes.contains(UInt8(ascii: "#")) else { throw HTTPParseError(.invalidTarget) }
        if first == UInt8(ascii: "*") {
            guard bytes.count == 1, method == "OPTIONS" else { throw HTTPParseError(.invalidTarget) }
            self.init(rawPath: "*", path: "*", segments: [], rawQuery: "")
            return
        }
        if first != UInt8(ascii: "/") {
            bytes = try Self.stripSchemeAndAuthority(bytes)
        }
        let question = bytes.firstIndex(of: UInt8(ascii: "?"))
        let rawPathBytes = bytes[..<(question ?? bytes.endIndex)]
        let rawQueryBytes = question.map { bytes[bytes.index(after: $0)...] } ?? bytes[bytes.endIndex...]
        var segments: [String] = []
        for segment in rawPathBytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let decoded = percentDecodedBytes(segment, plusAsSpace: false) else { throw HTTPParseError(.invalidTarget) }
            segments.append(String(decoding: decoded, as: UTF8.self))
        }
        guard let decodedPath = percentDecodedBytes(rawPathBytes, plusAsSpace: false) else { throw HTTPParseError(.invalidTarget) }
        self.init(rawPath: String(Substring(rawPathBytes)), path: String(decoding: decodedPath, as: UTF8.self),
                  segments: segments, rawQuery: String(Substring(rawQueryBytes)))
    }

    /// Best effort for `HTTPRequest.init`: split only, no decoding.
    init(lenient target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = parts.first.map(String.init) ?? ""
        self.init(rawPath: rawPath, path: rawPath,
                  segments: rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init),
                  rawQuery: parts.count > 1 ? String(parts[1]) : "")
    }

    private init(rawPath: String, path: String, segments: [String], rawQuery: String) {
        self.rawPath = rawPath
        self.path = path
        self.segments = segments
        self.rawQuery = rawQuery
    }

    /// `http://host:port/p?q` -> `/p?q` (and `http://host` -> `/`).
    private static func stripSchemeAndAuthority(_ bytes: Substring.UTF8View) throws(HTTPParseError) -> Substring.UTF8View {
        let text = Substring(bytes)
        let scheme: Int
        if text.utf8.count >= 7 && asciiCaseInsensitiveEquals(text.prefix(7), "http://") {
            scheme = 7
        } else if text.utf8.count >= 8 && asciiCaseInsensitiveEquals(text.prefix(8), "https://") {
            scheme = 8
        } else {
            throw HTTPParseError(.invalidTarget)
        }
        let afterScheme = bytes.dropFirst(scheme)
        guard let authorityEnd = afterScheme.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) else {
            return Substring("/").utf8
        }
        if afterScheme[authorityEnd] == UInt8(ascii: "?") {
            return Substring("/" + String(Substring(afterScheme[authorityEnd...]))).utf8
        }
        return afterScheme[authorityEnd...]
    }
}
