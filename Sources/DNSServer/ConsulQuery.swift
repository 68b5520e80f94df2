/// The names Consul's DNS interface answers, below its domain:
/// `name.service`, `tag.name.service`, `_name._tag.service` (RFC 2782),
/// `node.node`, `<hex>.addr`, each with an optional datacenter label
/// before the domain, and the domain itself.
enum ConsulQuery: Equatable {
    case apex
    case service(name: [UInt8], tag: [UInt8]?, datacenter: [UInt8]?)
    case node(name: [UInt8], datacenter: [UInt8]?)
    case address(DNSAddress, datacenter: [UInt8]?)
    /// Inside the domain, but no form we know: NXDOMAIN.
    case unknown

    private static let serviceLabel = Array("service".utf8)
    private static let nodeLabel = Array("node".utf8)
    private static let addrLabel = Array("addr".utf8)
    private static let rfc2782NoTag: Set<[UInt8]> = [Array("tcp".utf8), Array("udp".utf8)]

    /// Parses the labels in front of the domain. Labels come folded to
    /// lower case except node names, whose case is kept for the answer.
    static func parse(_ labels: [ArraySlice<UInt8>]) -> ConsulQuery {
        let n = labels.count
        if n == 0 { return .apex }
        // The kind is the last label, or the one before a datacenter label.
        var kindAt = n - 1
        var datacenter: [UInt8]?
        if !isKind(labels[n - 1]) {
            guard n >= 2, isKind(labels[n - 2]) else { return .unknown }
            kindAt = n - 2
            datacenter = DNSSnapshot.fold(labels[n - 1])
        }
        let kind = DNSSnapshot.fold(labels[kindAt])
        let parts = labels[..<kindAt]
        switch kind {
        case serviceLabel:
            switch parts.count {
            case 1:
                return .service(name: DNSSnapshot.fold(parts[0]), tag: nil, datacenter: datacenter)
            case 2 where parts[0].first == UInt8(ascii: "_") && parts[1].first == UInt8(ascii: "_"):
                let tag = DNSSnapshot.fold(parts[1].dropFirst())
                return .service(name: DNSSnapshot.fold(parts[0].dropFirst()),
                                tag: rfc2782NoTag.contains(tag) ? nil : tag, datacenter: datacenter)
            case 2:
                return .service(name: DNSSnapshot.fold(parts[1]), tag: DNSSnapshot.fold(parts[0]), datacenter: datacenter)
            default:
                return .unknown
            }
        case nodeLabel:
            guard !parts.isEmpty else { return .unknown }
            // Node names with dots span several labels, as in Consul.
            var name: [UInt8] = []
            for (i, part) in parts.enumerated() {
                if i > 0 { name.append(UInt8(ascii: ".")) }
                name += part
            }
            return .node(name: name, datacenter: datacenter)
        default:
            guard parts.count == 1, let address = hexAddress(parts[parts.startIndex]) else { return .unknown }
            return .address(address, datacenter: datacenter)
        }
    }

    private static func isKind(_ label: ArraySlice<UInt8>) -> Bool {
        let folded = DNSSnapshot.fold(label)
        return folded == serviceLabel || folded == nodeLabel || folded == addrLabel
    }

    /// 8 hex digits → IPv4, 32 → IPv6.
    static func hexAddress(_ label: ArraySlice<UInt8>) -> DNSAddress? {
        guard label.count == 8 || label.count == 32 else { return nil }
        var bytes: [UInt8] = []
        var high: UInt8?
        for c in label {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        if bytes.count == 4 { return .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) }) }
        return .v6(bytes)
    }
}
