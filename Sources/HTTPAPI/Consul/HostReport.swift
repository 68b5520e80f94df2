import Agent
import Dispatch
import Glibc
import JSON

/// `/v1/agent/host`: what Consul's gopsutil report shows of the host
/// (memory, CPUs, host facts, the data directory's disk), read from /proc
/// and statfs. Blocking reads: only on `queue`, never on the loop.
enum HostReport {
    static let queue = DispatchQueue(label: "fedagent.host-report")

    /// Carries the loop's responder across the hop (it is called back on the loop).
    struct Reply: @unchecked Sendable {
        let respond: HTTPServer.Respond
        init(_ respond: @escaping HTTPServer.Respond) { self.respond = respond }
    }

    static func collect(dataDir: String?, pretty: Bool) -> [UInt8] {
        var w = JSONWriter(pretty: pretty)
        w.beginObject()
        w.key("Memory"); writeMemory(&w)
        w.key("CPU"); writeCPUs(&w)
        w.key("Host"); writeHost(&w)
        w.key("Disk"); writeDisk(dataDir ?? "/", &w)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        w.field("CollectionTime", Double(now.tv_sec) * 1e9 + Double(now.tv_nsec))
        w.key("Errors"); w.null()
        w.endObject()
        return w.bytes
    }

    /// A small file of /proc or /etc as text ("" when unreadable).
    static func text(_ path: String, limit: Int = 1 << 20) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// "key: value" or "KEY=value" lines as a dictionary.
    static func fields(_ text: String, separator: Character) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let i = line.firstIndex(of: separator) else { continue }
            let key = trim(line[..<i])
            var value = trim(line[line.index(after: i)...])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            if out[key] == nil { out[key] = value }
        }
        return out
    }

    static func trim(_ s: Substring) -> String {
        String(s.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }

    static func writeMemory(_ w: inout JSONWriter) {
        let info = fields(text("/proc/meminfo"), separator: ":")
        func kib(_ key: String) -> Double { Double(info[key]?.split(separator: " ").first ?? "0").map { $0 * 1024 } ?? 0 }
        let total = kib("MemTotal"), available = kib("MemAvailable"), free = kib("MemFree")
        w.beginObject()
        w.field("total", total)
        w.field("available", available)
        w.field("used", total - available)
        w.field("usedPercent", total > 0 ? (total - available) / total * 100 : 0)
        w.field("free", free)
        w.endObject()
    }

    static func writeCPUs(_ w: inout JSONWriter) {
        w.beginArray()
        for block in text("/proc/cpuinfo").split(separator: "\n\n") {
            let f = fields(String(block), separator: ":")
            guard let number = f["processor"].flatMap({ Int($0) }) else { continue }
            w.beginObject()
            w.field("cpu", number)
            w.field("vendorId", f["vendor_id"] ?? "")
            w.field("family", f["cpu family"] ?? "")
            w.field("model", f["model"] ?? "")
            w.field("modelName", f["model name"] ?? "")
            w.field("mhz", Double(f["cpu MHz"] ?? "") ?? 0)
            w.field("cacheSize", Int(f["cache size"]?.split(separator: " ").first ?? "") ?? 0)
            w.field("cores", 1)
            w.endObject()
        }
        w.endArray()
    }

    static func writeHost(_ w: inout JSONWriter) {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        var u = utsname()
        uname(&u)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let uptime = Double(text("/proc/uptime").split(separator: " ").first ?? "0") ?? 0
        let boot = fields(text("/proc/stat"), separator: " ")["btime"].flatMap { Int($0) } ?? 0
        let procs = text("/proc/loadavg").split(separator: " ").dropFirst(3).first?.split(separator: "/").last.flatMap { Int($0) } ?? 0
        let release = fields(text("/etc/os-release"), separator: "=")
        w.beginObject()
        w.field("hostname", String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        w.field("uptime", Int(uptime))
        w.field("bootTime", boot)
        w.field("procs", procs)
        w.field("os", "linux")
        w.field("platform", release["ID"] ?? "")
        w.field("platformFamily", release["ID_LIKE"] ?? release["ID"] ?? "")
        w.field("platformVersion", release["VERSION_ID"] ?? "")
        w.field("kernelVersion", field(u.release))
        w.field("kernelArch", field(u.machine))
        w.field("virtualizationSystem", "")
        w.field("virtualizationRole", "")
        w.field("hostid", trim(Substring(text("/etc/machine-id", limit: 64))))
        w.endObject()
    }

    static func writeDisk(_ path: String, _ w: inout JSONWriter) {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return w.null() }
        let block = Double(s.f_frsize)
        let total = Double(s.f_blocks) * block, free = Double(s.f_bavail) * block
        let used = total - Double(s.f_bfree) * block
        w.beginObject()
        w.field("path", path)
        w.field("total", total)
        w.field("free", free)
        w.field("used", used)
        w.field("usedPercent", total > 0 ? used / total * 100 : 0)
        w.endObject()
    }
}
