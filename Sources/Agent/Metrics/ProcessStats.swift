import Glibc

/// The process, from /proc/self (memory, not disk: read on the loop
/// without blocking), under Prometheus' standard `process_*` names and
/// Consul's `runtime.*` where it has one.
public enum ProcessStats {
    /// Wall time the process started (for `process_start_time_seconds`).
    public static let startTime = Double(time(nil))

    public struct Snapshot: Sendable, Equatable {
        public var residentBytes = 0.0
        public var virtualBytes = 0.0
        public var cpuSeconds = 0.0
        public var threads = 0.0
        public var openFDs = 0.0
        public var maxFDs = 0.0
    }

    public static func read() -> Snapshot {
        var s = Snapshot()
        if let stat = DataFile.read("/proc/self/stat", limit: 4096) { parseStat(stat, into: &s) }
        s.openFDs = Double(countOpenFDs())
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { s.maxFDs = Double(limit.rlim_cur) }
        return s
    }

    /// `/proc/self/stat`: fields after the parenthesised command name, which
    /// may itself hold spaces and parentheses (proc(5)).
    static func parseStat(_ bytes: [UInt8], into s: inout Snapshot) {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        // fields[0] is field 3 (state): utime is field 14, stime 15, threads 20, vsize 23, rss 24.
        func field(_ n: Int) -> Double { fields.count > n - 3 ? Double(fields[n - 3]) ?? 0 : 0 }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        s.cpuSeconds = ticks > 0 ? (field(14) + field(15)) / ticks : 0
        s.threads = field(20)
        s.virtualBytes = field(23)
        s.residentBytes = field(24) * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func countOpenFDs() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { n += 1 }
        }
        return max(n - 1, 0)  // the directory stream's own descriptor
    }

    /// The readings: Prometheus' process collector and Consul's runtime gauges.
    public static func readings(hostname: String?) -> [MetricReading] {
        let s = read()
        func runtime(_ name: String) -> MetricKey { MetricKey((hostname.map { $0 + "." } ?? "") + "runtime." + name) }
        return [
            .gauge(MetricKey("process_resident_memory_bytes", standard: true), s.residentBytes),
            .gauge(MetricKey("process_virtual_memory_bytes", standard: true), s.virtualBytes),
            .gauge(MetricKey("process_open_fds", standard: true), s.openFDs),
            .gauge(MetricKey("process_max_fds", standard: true), s.maxFDs),
            .gauge(MetricKey("process_start_time_seconds", standard: true), startTime),
            .counter(MetricKey("process_cpu_seconds_total", standard: true), count: 1, sum: s.cpuSeconds),
            .gauge(runtime("num_goroutines"), s.threads),
            .gauge(runtime("sys_bytes"), s.residentBytes),
        ]
    }
}
