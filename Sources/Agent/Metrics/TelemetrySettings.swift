/// Consul's `telemetry` block, the parts fedagent has.
public struct TelemetrySettings: Sendable, Equatable {
    /// How long Prometheus output keeps a metric that stopped changing;
    /// Prometheus output is on only when positive (Consul's rule).
    public var prometheusRetention = ""
    /// Consul puts the host name into gauge names unless this is set.
    public var disableHostname = false
    public var metricsPrefix = "consul"

    public init() {}

    public var prometheusEnabled: Bool {
        guard let d = GoDuration.parse(prometheusRetention) else { return false }
        return d > .zero
    }
}
