/// Consul's member tags (`role`, `dc`, `id`, `build`, `vsn`, `port`…)
/// carried as the gossip layer's node metadata. Every member's tags travel
/// in every push/pull, so the encoding is compact: well-known keys are one
/// byte, and a UUID value (the node ID) is 16 raw bytes.
///
///     meta  = 0x02 entry*
///     entry = key value
///     key   = 0x80|index (a well-known key) | length<0x80, UTF-8
///     value = 0xFF, 16 bytes (a UUID) | length<0xFF, UTF-8
public enum MemberTags {
    static let format: UInt8 = 2
    /// Well-known keys by index. ONLY APPEND TO THIS LIST.
    static let knownKeys = [
        "build", "dc", "ft_fs", "ft_si", "id", "role", "segment", "vsn", "vsn_max", "vsn_min",
        "port", "wan_join_port", "raft_vsn", "expect", "bootstrap", "ap", "nonvoter", "read_replica",
        "ft_admpart", "ft_ns", "grpc_port", "grpc_tls_port", "use_tls",
    ]
    static let knownIndex = Dictionary(uniqueKeysWithValues: knownKeys.enumerated().map { ($1, $0) })
    static let uuidMarker: UInt8 = 0xFF

    public static func encode(_ tags: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = [format]
        for (key, value) in tags {
            if let i = knownIndex[key] {
                out.append(0x80 | UInt8(i))
            } else {
                let k = Array(key.utf8.prefix(0x7f))
                out.append(UInt8(k.count))
                out.append(contentsOf: k)
            }
            if let uuid = uuidBytes(value) {
                out.append(uuidMarker)
                out.append(contentsOf: uuid)
            } else {
                let v = Array(value.utf8.prefix(0xfe))
                out.append(UInt8(v.count))
                out.append(contentsOf: v)
            }
        }
        return out
    }

    /// Decodes tags; malformed metadata from a peer yields what could be read.
    public static func decode(_ bytes: [UInt8]) -> [(String, String)] {
        guard bytes.first == format else { return [] }
        var tags: [(String, String)] = []
        var i = 1
        func string(_ n: Int) -> String? {
            guard n >= 0, i + n <= bytes.count else { return nil }
            defer { i += n }
            return String(decoding: bytes[i..<i + n], as: UTF8.self)
        }
        while i < bytes.count {
            let keyByte = bytes[i]
            i += 1
            let key: String
            if keyByte & 0x80 != 0 {
                let index = Int(keyByte & 0x7f)
                guard index < knownKeys.count else { break }
                key = knownKeys[index]
            } else {
                guard let k = string(Int(keyByte)) else { break }
                key = k
            }
            guard i < bytes.count else { break }
            let valueByte = bytes[i]
            i += 1
            if valueByte == uuidMarker {
                guard i + 16 <= bytes.count else { break }
                tags.append((key, uuidString(Array(bytes[i..<i + 16]))))
                i += 16
            } else {
                guard let v = string(Int(valueByte)) else { break }
                tags.append((key, v))
            }
        }
        return tags
    }

    /// The 16 bytes of a lowercase canonical UUID, or nil (which keeps
    /// other spellings byte-exact as strings).
    static func uuidBytes(_ s: String) -> [UInt8]? {
        guard s.utf8.count == 36, NodeIdentity.isUUID(s), s.lowercased() == s else { return nil }
        let hex = Array(s.utf8.filter { $0 != UInt8(ascii: "-") })
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var k = 0
        while k + 1 < hex.count {
            guard let hi = hexValue(hex[k]), let lo = hexValue(hex[k + 1]) else { return nil }
            out.append(hi << 4 | lo)
            k += 2
        }
        return out.count == 16 ? out : nil
    }

    static func uuidString(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The tags a Consul agent sets on its LAN member.
    /// A server's WAN tags are its LAN tags (Consul's are the same set).
    public static func wan(config: AgentConfig, nodeID: String) -> [(String, String)] { lan(config: config, nodeID: nodeID) }

    public static func lan(config: AgentConfig, nodeID: String) -> [(String, String)] {
        var tags: [(String, String)] = [
            ("build", FedagentVersion.version + ":fedagent"),
            ("dc", config.datacenter),
            ("ft_fs", "1"),
            ("ft_si", "1"),
            ("id", nodeID),
            ("role", config.server ? "consul" : "node"),
            ("segment", ""),
            ("vsn", String(FedagentVersion.protocolVersion)),
            ("vsn_max", String(FedagentVersion.protocolMax)),
            ("vsn_min", String(FedagentVersion.protocolMin)),
        ]
        if config.server {
            tags.append(("port", String(config.serverPort)))
            tags.append(("wan_join_port", String(config.serfWANPort)))
            tags.append(("raft_vsn", "3"))
            tags.sort { $0.0 < $1.0 }
        }
        return tags
    }
}
