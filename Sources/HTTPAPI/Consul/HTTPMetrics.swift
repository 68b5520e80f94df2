import Agent
import Membership

/// Consul's `api.http` timing by method and route, and the answers by
/// status code, counted on the request path without building a label or
/// a metric key: a request finds its route's slot by up to four
/// dictionary lookups of the path segments it already has; labels are
/// made once per route, and readings only when metrics are read.
/// Bounded: at most `slotLimit` routes, the rest count as "other".
/// Loop-confined.
final class HTTPMetrics {
    static let methods = ["GET", "PUT", "POST", "DELETE", "HEAD", "OTHER"]
    static let slotLimit = 256
    /// segment 1 → segment 2 → segment 3 (agent routes only) → more segments follow → slot.
    private var routes: [String: [String: [String: [Bool: Int]]]] = [:]
    private var labels = ["other"]
    private var times: [[TimingRing]] = [Array(repeating: TimingRing(), count: methods.count)]
    private var codes = [Int](repeating: 0, count: 600)

    func record(_ segments: [String], method: String, status: Int, seconds: Double) {
        let slot = self.slot(segments)
        let m: Int
        switch method {
        case "GET": m = 0
        case "PUT": m = 1
        case "POST": m = 2
        case "DELETE": m = 3
        case "HEAD": m = 4
        default: m = 5
        }
        times[slot][m].record(seconds)
        if (100..<600).contains(status) { codes[status] += 1 }
    }

    private func slot(_ segments: [String]) -> Int {
        guard segments.count >= 2, segments[0] == "v1" else { return 0 }
        let depth = segments[1] == "agent" && segments.count > 3 ? 4 : 3
        let s2 = segments.count > 2 ? segments[2] : "", s3 = depth == 4 ? segments[3] : ""
        let more = segments.count > depth
        if let known = routes[segments[1]]?[s2]?[s3]?[more] { return known }
        let label = ConsulAPI.routeLabel(segments)
        guard label != "other", labels.count < Self.slotLimit else { return 0 }
        labels.append(label)
        times.append(Array(repeating: TimingRing(), count: Self.methods.count))
        routes[segments[1], default: [:]][s2, default: [:]][s3, default: [:]][more] = labels.count - 1
        return labels.count - 1
    }

    func readings() -> [MetricReading] {
        var out: [MetricReading] = []
        for (slot, rings) in times.enumerated() {
            for (m, ring) in rings.enumerated() where ring.total > 0 {
                out.append(.timing(MetricKey("api.http", [("method", Self.methods[m]), ("path", labels[slot])]), ring))
            }
        }
        for (code, n) in codes.enumerated() where n > 0 {
            out.append(.counter(MetricKey("api.http.responses", [("code", String(code))]), count: n, sum: Double(n)))
        }
        return out
    }
}
