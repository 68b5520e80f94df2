import Glibc
import Synchronization

/// Leveled logging to stderr in Consul's layout:
/// `2026-11-24T19:00:00.123Z [INFO]  agent: message`.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case trace = 0, debug, info, warn, error

        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "err", "error": self = .error
            default: return nil
            }
        }
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var tag: String {
            switch self {
            case .trace: "[TRACE]"
            case .debug: "[DEBUG]"
            case .info: "[INFO] "
            case .warn: "[WARN] "
            case .error: "[ERROR]"
            }
        }
    }

    private static let threshold = Atomic<Int>(Level.info.rawValue)

    public static var level: Level {
        get { Level(rawValue: threshold.load(ordering: .relaxed)) ?? .info }
        set { threshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    public static func enabled(_ l: Level) -> Bool { l.rawValue >= threshold.load(ordering: .relaxed) }

    public static func write(_ l: Level, _ component: String, _ message: @autoclosure () -> String) {
        guard enabled(l) else { return }
        let line = "\(timestamp()) \(l.tag) \(component): \(message())\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    public static func trace(_ c: String, _ m: @autoclosure () -> String) { write(.trace, c, m()) }
    public static func debug(_ c: String, _ m: @autoclosure () -> String) { write(.debug, c, m()) }
    public static func info(_ c: String, _ m: @autoclosure () -> String) { write(.info, c, m()) }
    public static func warn(_ c: String, _ m: @autoclosure () -> String) { write(.warn, c, m()) }
    public static func error(_ c: String, _ m: @autoclosure () -> String) { write(.error, c, m()) }

    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
