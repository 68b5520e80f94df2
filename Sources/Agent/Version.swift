/// Build and protocol versions reported in member tags and `fedagent version`.
public enum FedagentVersion {
    public static let version = "0.1.0"
    /// When this version was cut (`/v1/agent/version`'s BuildDate).
    public static let buildDate = "2026-12-07T00:00:00Z"
    /// Consul's gossip protocol version numbers, reported as `vsn*` tags and
    /// the `Protocol` column, so Consul tooling reads our members sensibly.
    public static let protocolVersion = 2
    public static let protocolMin = 2
    public static let protocolMax = 3
}
