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

extension Endpoint {
    /// Calls `body` with this endpoint as a sockaddr.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        let addressBytes = self.addressBytes
        if isIPv4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { raw in
                for i in 0..<4 { raw[i] = addressBytes[i] }
            }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
            for i in 0..<16 { raw[i] = addressBytes[i] }
        }
        return withUnsafePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }

    /// Reads an endpoint out of a sockaddr_storage filled by the kernel.
    init?(storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in.self).pointee
            let bytes = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
            self.init(addressBytes: bytes, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = UnsafeRawPointer(storage).assumingMemoryBound(to: sockaddr_in6.self).pointee
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            // Unmap v4-mapped addresses so a dual-stack peer keeps one identity.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                self.init(addressBytes: Array(bytes[12..<16]), port: UInt16(bigEndian: sin6.sin6_port))
            } else {
                self.init(addressBytes: bytes, port: UInt16(bigEndian: sin6.sin6_port))
            }
        default:
            return nil
        }
    }
}

extension Endpoint {
    /// Reads an endpoint out of a sockaddr_storage value.
    public init?(sockaddrStorage: sockaddr_storage) {
        var copy = sockaddrStorage
        guard let e = withUnsafePointer(to: &copy, { Endpoint(storage: $0) }) else { return nil }
        self = e
    }
}
