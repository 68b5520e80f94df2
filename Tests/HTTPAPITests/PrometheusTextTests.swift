import Agent
@testable import HTTPAPI
import Membership
import Testing

/// The Prometheus text exposition format as fedagent writes it: one HELP
/// and TYPE per family, escaped label values, summaries in milliseconds.
@Suite struct PrometheusTextTests {
    @Test func familiesLabelsAndSummaries() {
        var ring = TimingRing()
        ring.record(0.001)
        ring.record(0.003)
        let text = ConsulAPI.prometheusText([
            .counter(MetricKey("memberlist.msg.alive", [("network", "lan")]), count: 4, sum: 4),
            .counter(MetricKey("memberlist.msg.alive", [("network", "wan")]), count: 1, sum: 1),
            .gauge(MetricKey("my-host.memberlist.health.score", [("path", "a\"b\\c\nd")]), 1.5),
            .gauge(MetricKey("process_open_fds", standard: true), 12),
            .timing(MetricKey("memberlist.probeNode"), ring),
        ], prefix: "consul")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0 == "# TYPE consul_memberlist_msg_alive counter" }.count == 1)
        #expect(lines.contains(#"consul_memberlist_msg_alive{network="lan"} 4"#))
        #expect(lines.contains(#"consul_my_host_memberlist_health_score{path="a\"b\\c\nd"} 1.5"#))
        #expect(lines.contains("process_open_fds 12"))
        #expect(lines.contains("# TYPE consul_memberlist_probeNode summary"))
        #expect(lines.contains(#"consul_memberlist_probeNode{quantile="0.5"} 3"#))
        #expect(lines.contains("consul_memberlist_probeNode_sum 4"))
        #expect(lines.contains("consul_memberlist_probeNode_count 2"))
    }

    @Test func emptySummaryQuantilesAreNaN() {
        let text = ConsulAPI.prometheusText([.timing(MetricKey("api.http"), TimingRing())], prefix: "consul")
        #expect(text.contains(#"consul_api_http{quantile="0.99"} NaN"#))
        #expect(text.contains("consul_api_http_count 0"))
    }

    @Test func routeLabelsNameTheRouteNotItsArguments() {
        #expect(ConsulAPI.routeLabel(["v1", "catalog", "service", "web"]) == "v1_catalog_service_")
        #expect(ConsulAPI.routeLabel(["v1", "agent", "self"]) == "v1_agent_self")
        #expect(ConsulAPI.routeLabel(["v1", "agent", "service", "register"]) == "v1_agent_service_register")
        #expect(ConsulAPI.routeLabel(["v1", "agent", "check", "pass", "service:web"]) == "v1_agent_check_pass_")
        #expect(ConsulAPI.routeLabel(["v1", "nonsense", "x"]) == "other")
        #expect(ConsulAPI.routeLabel(["favicon.ico"]) == "other")
    }
}

/// The streaming client's chunk reader, fed a chunked body in pieces of
/// every size, and the server's chunk framing.
@Suite struct ChunkStreamTests {
    @Test func chunksSplitAnywhereReassembleAndTheLastChunkEnds() throws {
        let body = HTTPStream.chunk(Array("first line\n".utf8)) + HTTPStream.chunk(Array(repeating: 0x78, count: 300))
            + Array("0\r\n\r\n".utf8)
        for piece in [1, 2, 3, 7, 64, body.count] {
            var reader = ChunkStream()
            var buffer: [UInt8] = [], out: [UInt8] = [], ended = false
            var offset = 0
            while offset < body.count && !ended {
                buffer += body[offset..<min(offset + piece, body.count)]
                offset += piece
                let (data, done) = try reader.take(&buffer)
                out += data
                ended = done
            }
            #expect(ended, "piece \(piece)")
            #expect(out == Array("first line\n".utf8) + Array(repeating: 0x78, count: 300), "piece \(piece)")
        }
        var reader = ChunkStream()
        var junk = Array("zz\r\n".utf8)
        #expect(throws: HTTPClientError.self) { _ = try reader.take(&junk) }
        #expect(HTTPStream.chunk([]).isEmpty, "an empty chunk would end the stream")
    }
}
