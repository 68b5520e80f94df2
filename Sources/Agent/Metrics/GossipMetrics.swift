import Membership

/// A gossip pool's counters under memberlist's and Serf's names, labelled
/// `network="lan"` or `"wan"`.
enum GossipMetrics {
    static func readings(_ pool: GossipPool, network: String, hostname: String?) -> [MetricReading] {
        let c = pool.counters
        let labels = [("network", network)]
        func key(_ name: String) -> MetricKey { MetricKey(name, labels) }
        func counter(_ name: String, _ n: Int, sum: Int? = nil) -> MetricReading {
            .count(name, n, sum: sum, labels: labels)
        }
        return [
            counter("memberlist.msg.alive", c.aliveMessages),
            counter("memberlist.msg.suspect", c.suspectMessages),
            counter("memberlist.msg.dead", c.deadMessages),
            counter("memberlist.udp.sent", c.udpSentPackets, sum: c.udpSentBytes),
            counter("memberlist.udp.received", c.udpReceivedPackets, sum: c.udpReceivedBytes),
            counter("memberlist.tcp.sent", c.tcpConnects + c.tcpAccepts, sum: c.tcpSentBytes),
            counter("memberlist.tcp.connect", c.tcpConnects),
            counter("memberlist.tcp.accept", c.tcpAccepts),
            counter("serf.member.join", c.memberJoins),
            counter("serf.member.left", c.memberLeaves),
            counter("serf.member.failed", c.memberFailures),
            counter("serf.member.update", c.memberUpdates),
            counter("serf.member.flap", c.memberFlaps),
            .timing(key("memberlist.probeNode"), c.probeTimes),
            .timing(key("memberlist.gossip"), c.gossipTimes),
            // Gauges carry the host name unless telemetry.disable_hostname.
            .gauge(MetricKey((hostname.map { $0 + "." } ?? "") + "memberlist.health.score", labels), Double(pool.instance.healthScore)),
            .gauge(MetricKey((hostname.map { $0 + "." } ?? "") + "serf.members", labels), Double(pool.instance.liveMemberCount)),
        ]
    }
}
