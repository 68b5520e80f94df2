import Glibc

/// Conversions between endpoints and the kernel's socket addresses.
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
