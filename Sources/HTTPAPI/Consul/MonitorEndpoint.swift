import Agent
import Sockets
import Synchronization

/// `GET /v1/agent/monitor?loglevel=&logjson`: the agent's log lines, from
/// the moment of the request on, streamed until the client goes away.
extension ConsulAPI {
    func agentMonitor(_ request: HTTPRequest) -> HTTPResponse {
        let levelName = request.query["loglevel"] ?? "info"
        guard let level = Log.Level(name: levelName.isEmpty ? "info" : levelName) else {
            return Self.text(400, "Unknown log level: \(levelName)")
        }
        let stream = HTTPStream()
        let tap = MonitorTap(level: level, json: request.query.contains("logjson"), loop: agent.loop, stream: stream)
        stream.onCancel = { Log.removeTap(tap) }
        Log.addTap(tap)
        var response = HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8")
        response.stream = stream
        return response
    }
}

/// Lines logged on any thread, handed to the loop in batches; at most
/// `limit` wait at once, and what a slow reader misses is counted and
/// said, as Consul's monitor does.
final class MonitorTap: Log.Tap, @unchecked Sendable {
    let level: Log.Level
    let json: Bool
    private let loop: EventLoop
    /// Touched on the loop only.
    private let stream: HTTPStream
    private let pending = Mutex<(lines: [String], dropped: Int, scheduled: Bool)>(([], 0, false))
    static let limit = 512

    init(level: Log.Level, json: Bool, loop: EventLoop, stream: HTTPStream) {
        self.level = level
        self.json = json
        self.loop = loop
        self.stream = stream
    }

    func deliver(_ line: String) {
        let schedule = pending.withLock { p -> Bool in
            if p.lines.count < Self.limit { p.lines.append(line) } else { p.dropped += 1 }
            if p.scheduled { return false }
            p.scheduled = true
            return true
        }
        if schedule { loop.execute { [self] in flush() } }
    }

    /// Lines the client was too far behind to take (its socket's backlog full).
    private var unsent = 0

    private func flush() {
        let (lines, dropped) = pending.withLock { p -> ([String], Int) in
            defer { p = ([], 0, false) }
            return (p.lines, p.dropped)
        }
        let missed = dropped + unsent
        var bytes = Array(lines.joined().utf8)
        if missed > 0 { bytes += Array("Monitor dropped \(missed) logs during monitor request\n".utf8) }
        unsent = stream.send(bytes) ? 0 : missed + lines.count
    }
}
