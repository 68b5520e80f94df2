import Membership
import Sockets

/// The agent's metric sources: both gossip pools, the process, and
/// whatever the HTTP API and DNS add; an interval closes every 10 s.
extension Agent {
    /// The host name gauges carry (nil with `telemetry.disable_hostname`).
    public var metricsHostname: String? { config.telemetry.disableHostname ? nil : HostNetwork.hostName() }

    func startMetrics() {
        MemoryTrim.schedule(on: loop)
        let hostname = metricsHostname
        metrics.addSource { [weak self] in
            guard let self else { return [] }
            var all = GossipMetrics.readings(lan, network: "lan", hostname: hostname)
            if let wan = federation?.wan { all += GossipMetrics.readings(wan, network: "wan", hostname: hostname) }
            all += ProcessStats.readings(hostname: hostname)
            all.append(.gauge(MetricKey((hostname.map { $0 + "." } ?? "") + "catalog.nodes"), Double(catalog.replica.records.count)))
            all += federationReadings(hostname: hostname)
            // Serf's `serf.events`: user events heard (taken here or not).
            all.append(.counter(MetricKey("serf.events"), count: events.log.received, sum: Double(events.log.received)))
            return all
        }
        scheduleMetricsRotation()
    }

    /// The server port and the gateways: what is refused, and the tunnels.
    private func federationReadings(hostname: String?) -> [MetricReading] {
        guard let federation else { return [] }
        let counter = { (name: String, n: Int) in MetricReading.count(name, n) }
        let host = hostname.map { $0 + "." } ?? ""
        let tunnels = federation.tunnelStats, tls = federation.tlsRefusals
        return [
            counter("rpc.requests_refused", federation.refusedRequests),
            counter("rpc.tls.plaintext_refused", tls.plaintext),
            counter("rpc.tls.handshakes_failed", tls.handshakes),
            counter("rpc.requests", federation.servedRequests),
            counter("rpc.requests_failed", federation.failedRequests),
            counter("gateway.tunnels_refused", tunnels.refused),
            .counter(MetricKey("gateway.bytes_relayed"), count: 1, sum: Double(tunnels.bytesRelayed)),
            .gauge(MetricKey(host + "gateway.tunnels_active"), Double(tunnels.active)),
            .gauge(MetricKey(host + "gateway.upstreams"), Double(federation.upstreams.count)),
        ]
    }

    private func scheduleMetricsRotation() {
        loop.schedule(after: MetricsRegistry.interval) { [weak self] in
            guard let self else { return }
            metrics.rotate(now: loop.now())
            scheduleMetricsRotation()
        }
    }
}
