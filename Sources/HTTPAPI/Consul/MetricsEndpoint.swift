import Agent
import Glibc
import JSON
import Membership
import Sockets

/// `GET /v1/agent/metrics`: the last closed 10 s interval in Consul's
/// JSON (go-metrics' in-memory sink), or `?format=prometheus` in the
/// Prometheus text format (0.0.4) with running totals, when
/// `telemetry.prometheus_retention_time` is positive (else Consul's 415).
extension ConsulAPI {
    func agentMetrics(_ request: HTTPRequest) -> HTTPResponse {
        let prefix = agent.config.telemetry.metricsPrefix
        let prometheus = request.query["format"] == "prometheus"
            || (request.headers["Accept"] ?? "").contains("text/plain; version=0.0.4")
        if prometheus {
            guard agent.config.telemetry.prometheusEnabled else {
                return Self.text(415, "Prometheus is not enabled since its retention time is not positive")
            }
            var response = HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                        body: Array(Self.prometheusText(agent.metrics.readings(), prefix: prefix).utf8))
            response.headers.set("Cache-Control", "no-store")
            return response
        }
        let interval = agent.metrics.closed ?? agent.metrics.openInterval(now: agent.loop.now())
        let wallStart = Double(time(nil)) - (agent.loop.now() - interval.start).seconds
        return Self.json(request) { w in
            w.beginObject()
            w.field("Timestamp", Self.goTimestamp(wallStart))
            w.key("Gauges")
            w.beginArray()
            for (key, value) in interval.gauges {
                w.beginObject()
                w.field("Name", Self.dotted(key, prefix))
                w.field("Value", value)
                Self.writeLabels(key, &w)
                w.endObject()
            }
            w.endArray()
            w.key("Points")
            w.beginArray()
            w.endArray()
            let seconds = max(interval.length.seconds, 1e-9)
            for (name, list) in [("Counters", interval.counters), ("Samples", interval.samples)] {
                w.key(name)
                w.beginArray()
                for (key, a) in list {
                    w.beginObject()
                    w.field("Name", Self.dotted(key, prefix))
                    w.field("Count", a.count)
                    w.field("Rate", a.sum / seconds)
                    w.field("Sum", a.sum)
                    w.field("Min", a.min)
                    w.field("Max", a.max)
                    w.field("Mean", a.mean)
                    w.field("Stddev", a.stddev)
                    Self.writeLabels(key, &w)
                    w.endObject()
                }
                w.endArray()
            }
            w.endObject()
        }
    }

    static func dotted(_ key: MetricKey, _ prefix: String) -> String {
        key.standard ? key.name : prefix + "." + key.name
    }

    static func writeLabels(_ key: MetricKey, _ w: inout JSONWriter) {
        w.key("Labels")
        w.beginObject()
        for label in key.labels { w.field(label.name, label.value) }
        w.endObject()
    }

    /// Go's `time.Time.String()` of a UTC time, to the second:
    /// "2026-12-07 14:30:00 +0000 UTC".
    static func goTimestamp(_ seconds: Double) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000 UTC"
    }

    /// A Prometheus metric name: go-metrics' dotted key with `_` for
    /// anything outside [a-zA-Z0-9_:].
    static func prometheusName(_ key: MetricKey, _ prefix: String) -> String {
        let dotted = dotted(key, prefix)
        return String(String.UnicodeScalarView(dotted.unicodeScalars.map { c in
            (("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == ":") ? c : "_"
        }))
    }

    static func prometheusLabels(_ key: MetricKey, extra: String? = nil) -> String {
        var parts = key.labels.map { label -> String in
            var value = ""
            for c in label.value {
                switch c {
                case "\\": value += "\\\\"
                case "\"": value += "\\\""
                case "\n": value += "\\n"
                default: value.append(c)
                }
            }
            return "\(label.name)=\"\(value)\""
        }
        if let extra { parts.append(extra) }
        return parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
    }

    static func prometheusValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// Counters as running totals, gauges as they are, timings as
    /// summaries in milliseconds (quantiles over the recent values).
    static func prometheusText(_ readings: [MetricReading], prefix: String) -> String {
        var families: [String: (type: String, lines: [String])] = [:]
        for reading in readings {
            switch reading {
            case .counter(let key, _, let sum):
                let name = prometheusName(key, prefix)
                families[name, default: ("counter", [])].lines.append(name + prometheusLabels(key) + " " + prometheusValue(sum))
            case .gauge(let key, let value):
                let name = prometheusName(key, prefix)
                families[name, default: ("gauge", [])].lines.append(name + prometheusLabels(key) + " " + prometheusValue(value))
            case .timing(let key, let ring):
                let name = prometheusName(key, prefix)
                let recent = ring.values(after: 0).map { $0 * 1000 }.sorted()
                var lines: [String] = []
                for q in [0.5, 0.9, 0.99] {
                    let v = recent.isEmpty ? Double.nan : recent[min(recent.count - 1, Int(Double(recent.count) * q))]
                    lines.append(name + prometheusLabels(key, extra: "quantile=\"\(q)\"") + " " + prometheusValue(v))
                }
                lines.append(name + "_sum" + prometheusLabels(key) + " " + prometheusValue(ring.sum * 1000))
                lines.append(name + "_count" + prometheusLabels(key) + " " + String(ring.total))
                families[name, default: ("summary", [])].lines += lines
            }
        }
        var out = ""
        for (name, family) in families.sorted(by: { $0.key < $1.key }) {
            out += "# HELP \(name) \(name)\n# TYPE \(name) \(family.type)\n"
            for line in family.lines.sorted() { out += line + "\n" }
        }
        return out
    }
}
