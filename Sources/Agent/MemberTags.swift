/// Consul's member tags (`role`, `dc`, `id`, `build`, `vsn`, `port`…)
/// carried as the gossip layer's node metadata in a compact encoding:
/// count, then (key length, key, value length, value) per tag.
public enum MemberTags {
    public static func encode(_ tags: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = [UInt8(min(tags.count, 255))]
        for (key, value) in tags.prefix(255) {
            let k = Array(key.utf8.prefix(255)), v = Array(value.utf8.prefix(255))
            out.append(UInt8(k.count)); out.append(contentsOf: k)
            out.append(UInt8(v.count)); out.append(contentsOf: v)
        }
        return out
    }

    /// Decodes tags; malformed metadata from a peer yields what could be read.
    public static func decode(_ bytes: [UInt8]) -> [(String, String)] {
        guard let count = bytes.first else { return [] }
        var tags: [(String, String)] = []
        var i = 1
        func field() -> String? {
            guard i < bytes.count else { return nil }
            let n = Int(bytes[i])
            guard i + 1 + n <= bytes.count else { return nil }
            defer { i += 1 + n }
            return String(decoding: bytes[(i + 1)..<(i + 1 + n)], as: UTF8.self)
        }
        for _ in 0..<count {
            guard let key = field(), let value = field() else { break }
            tags.append((key, value))
        }
        return tags
    }

    /// The tags a Consul agent sets on its LAN member.
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
