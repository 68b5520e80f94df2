// Out of file descriptors: an agent whose table is full must not spin on
// the connection it cannot accept, and serves again once descriptors free.

import Glibc
import Testing

extension Integration {
    @Suite("Resource exhaustion")
    struct Exhaustion {
        /// User plus system CPU time of `pid`, in seconds.
        static func cpuSeconds(_ pid: pid_t) -> Double? {
            let stat = FileIO.readText("/proc/\(pid)/stat")
            // Fields after the command (which may hold spaces) start after ")".
            guard let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        static func connect(_ ip: String, _ port: UInt16) -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return -1 }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, ip, &address.sin_addr)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 { close(fd); return -1 }
            return fd
        }

        @Test("with its descriptors used up the agent idles instead of spinning on accept, and serves again once they free")
        func aFullDescriptorTableDoesNotSpinTheLoop() throws {
            try Harness.run("exhaustion") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [182, 192, 202], ports: h.ports)[0]
                let agent = h.addAgent(name: "fd1", ip: ip, retryJoin: [])
                // Soft and hard limit both: the agent cannot raise it.
                agent.command = ["/bin/sh", "-c", "ulimit -n 64 && exec \"$0\" \"$@\"", h.binary] + agent.arguments
                try h.start(agent)
                try h.eventually("the agent answers") {
                    let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/self")
                    return (r?.status == 200, "\(String(describing: r))")
                }
                var clients: [Int32] = []
                h.onTeardown { for fd in clients { close(fd) } }
                for _ in 0..<100 {
                    let fd = Self.connect(agent.ip, agent.ports.http)
                    if fd >= 0 { clients.append(fd) }
                }
                h.check(clients.count >= 80, "the kernel queued the connections: \(clients.count)")
                try h.eventually("the agent says it ran out of descriptors") {
                    (FileIO.readText(agent.logPath).contains("accepting again in"), "no such line in \(agent.logPath)")
                }
                let pid = try #require(agent.pid)
                let before = try #require(Self.cpuSeconds(pid))
                usleep(3_000_000)
                let after = try #require(Self.cpuSeconds(pid))
                // Spinning on the queued connection burns the whole 3 s.
                h.check(after - before < 1.0, "the agent used \(after - before) s of CPU in 3 s with its table full")
                for fd in clients { close(fd) }
                clients = []
                try h.eventually("the agent serves again once descriptors free") {
                    let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/self")
                    return (r?.status == 200, "\(String(describing: r))")
                }
            }
        }
    }
}
