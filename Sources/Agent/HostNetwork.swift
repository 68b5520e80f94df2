import Glibc
import Sockets

/// Facts about this host that defaults are derived from.
public enum HostNetwork {
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Keep the first label only: node names are one DNS label.
        let label = name.split(separator: ".").first.map(String.init) ?? name
        return AgentConfig.isValidNodeName(label) ? label : "localhost"
    }

    /// The address to advertise when bound to 0.0.0.0: the first private
    /// IPv4 address of an interface that is up, as Consul does; loopback
    /// if there is none.
    public static func defaultAdvertiseAddress() -> String {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return "127.0.0.1" }
        defer { freeifaddrs(head) }
        var candidates: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, Int32(addr.pointee.sa_family) == AF_INET,
                  entry.pointee.ifa_flags & UInt32(IFF_UP) != 0,
                  entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0 else { continue }
            let sin = UnsafeRawPointer(addr).assumingMemoryBound(to: sockaddr_in.self).pointee
            candidates.append(withUnsafeBytes(of: sin.sin_addr) { Array($0) })
        }
        let isPrivate: ([UInt8]) -> Bool = { b in
            b[0] == 10 || (b[0] == 172 && (16...31).contains(b[1])) || (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (64...127).contains(b[1]))
        }
        if let pick = candidates.first(where: isPrivate) ?? candidates.first { return IPAddress.format(pick) }
        return "127.0.0.1"
    }
}
