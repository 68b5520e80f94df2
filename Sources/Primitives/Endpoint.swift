import Glibc

/// An IP address (v4 or v6) and a port. A plain value: the protocol layers
/// use it as a node's address without touching sockets.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    // The address inline (no heap allocation): a simulated pool of
    // thousands of members holds millions of these.
    private let high: UInt64
    private let low: UInt64
    public let isIPv4: Bool
    public var port: UInt16

    public init?(addressBytes: [UInt8], port: UInt16) {
        guard addressBytes.count == 4 || addressBytes.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, b) in addressBytes.enumerated() {
            if addressBytes.count == 16 && i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        self.high = high
        self.low = low
        self.isIPv4 = addressBytes.count == 4
        self.port = port
    }

    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        high = 0
        low = UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d)
        isIPv4 = true
        self.port = port
    }

    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public var addressBytes: [UInt8] {
        if isIPv4 { return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt64($0))) } }
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// Parses an IP literal ("10.0.0.1", "::1"); no name resolution.
    public init?(ip: String, port: UInt16) {
        guard let bytes = IPAddress.parse(ip) else { return nil }
        self.init(addressBytes: bytes, port: port)
    }

    /// Parses "ip:port", "[v6]:port" or a bare IP with `defaultPort`.
    public init?(parsing text: String, defaultPort: UInt16) {
        var host = Substring(text)
        var port = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.lastIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        self.init(ip: String(host), port: port)
    }

    public var ip: String { IPAddress.format(addressBytes) }
    public var description: String { isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)" }
    public var isUnspecified: Bool { high == 0 && low == 0 }
}

public enum IPAddress {
    /// IPv4 dotted quad or IPv6 text to network-order bytes.
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var addr = in6_addr()
            guard inet_pton(AF_INET6, text, &addr) == 1 else { return nil }
            return withUnsafeBytes(of: &addr) { Array($0) }
        }
        var addr = in_addr()
        guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return "\(bytes[0]).\(bytes[1]).\(bytes[2]).\(bytes[3])" }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { raw in
            for (i, b) in bytes.prefix(16).enumerated() { raw[i] = b }
        }
        guard inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
