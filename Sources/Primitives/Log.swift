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
        public var name: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .warn: "warn"
            case .error: "error"
            }
        }
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

    public static func enabled(_ l: Level) -> Bool {
        l.rawValue >= threshold.load(ordering: .relaxed) || l.rawValue >= tapThreshold.load(ordering: .relaxed)
    }

    /// `-log-json` / `log_json`: one JSON object a line, as hclog writes them.
    public static let json = Atomic<Bool>(false)

    public static func write(_ l: Level, _ component: String, _ message: @autoclosure () -> String) {
        guard enabled(l) else { return }
        let text = message(), stamp = timestamp()
        if l.rawValue >= threshold.load(ordering: .relaxed) {
            var bytes = Array(line(l, component, text, stamp, json: json.load(ordering: .relaxed)).utf8)
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
        if l.rawValue >= tapThreshold.load(ordering: .relaxed) {
            let current = taps.withLock { Array($0.values) }
            for tap in current where l >= tap.level { tap.deliver(line(l, component, text, stamp, json: tap.json)) }
        }
    }

    package static func line(_ l: Level, _ component: String, _ text: String, _ stamp: String, json: Bool) -> String {
        guard json else { return "\(stamp) \(l.tag) \(component): \(text)\n" }
        return "{\"@level\":\"\(l.name)\",\"@message\":\(quoted(text)),\"@module\":\(quoted(component)),\"@timestamp\":\"\(stamp)\"}\n"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    // MARK: - Taps (`/v1/agent/monitor`)

    /// Someone reading the log as it is written, at their own level.
    public protocol Tap: AnyObject, Sendable {
        var level: Level { get }
        var json: Bool { get }
        /// Called on whichever thread logged; must not block or log.
        func deliver(_ line: String)
    }

    private static let taps = Mutex<[ObjectIdentifier: any Tap]>([:])
    /// The lowest level any tap wants (above every level when there is none).
    private static let tapThreshold = Atomic<Int>(Int.max)

    public static func addTap(_ tap: any Tap) {
        taps.withLock { all in
            all[ObjectIdentifier(tap)] = tap
            tapThreshold.store(all.values.map(\.level.rawValue).min() ?? Int.max, ordering: .relaxed)
        }
    }

    public static func removeTap(_ tap: any Tap) {
        taps.withLock { all in
            all[ObjectIdentifier(tap)] = nil
            tapThreshold.store(all.values.map(\.level.rawValue).min() ?? Int.max, ordering: .relaxed)
        }
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
