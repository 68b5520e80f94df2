@testable import Sockets
@testable import Primitives
import Synchronization
import Testing

/// Log lines as text and as hclog's JSON, and taps that read the log at
/// their own level whatever the agent's.
@Suite(.serialized) struct LogTests {
    @Test func jsonLinesEscapeWhatJSONMust() {
        let line = Log.line(.warn, "agent", "say \"hi\"\n\t\\ \u{1}", "2026-12-07T00:00:00.000Z", json: true)
        #expect(line == #"{"@level":"warn","@message":"say \"hi\"\n\t\\ \u0001","@module":"agent","@timestamp":"2026-12-07T00:00:00.000Z"}"# + "\n")
        #expect(Log.line(.info, "dns", "x", "T", json: false) == "T [INFO]  dns: x\n")
    }

    final class Collector: Log.Tap, @unchecked Sendable {
        let level: Log.Level
        let json = false
        let lines = Mutex<[String]>([])
        init(level: Log.Level) { self.level = level }
        func deliver(_ line: String) { lines.withLock { $0.append(line) } }
    }

    @Test func aTapSeesItsLevelBelowTheAgentsAndNothingAfterItIsRemoved() {
        let saved = Log.level
        defer { Log.level = saved }
        Log.level = .error  // the agent's own output: errors only
        let tap = Collector(level: .debug)
        Log.addTap(tap)
        Log.debug("test-tap", "seen by the tap")
        Log.trace("test-tap", "below the tap's level")
        Log.removeTap(tap)
        Log.info("test-tap", "after removal")
        let mine = tap.lines.withLock { $0 }.filter { $0.contains("test-tap") }
        #expect(mine.count == 1 && mine[0].contains("[DEBUG] test-tap: seen by the tap"), "\(mine)")
        #expect(!Log.enabled(.debug), "no tap left: debug is off again")
    }
}
