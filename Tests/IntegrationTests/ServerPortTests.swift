// The server port from a stranger's side: raw RPC frames that would write
// to the catalog, heartbeat a check, turn on maintenance or stop the
// server are refused with a clear failure, counted, and change nothing;
// the federated reads it exists for still work.

import Agent
import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Server port allow-list")
    struct ServerPort {
        /// A blocking TCP connection that sends RPC frames and reads answers.
        final class RawRPC {
            let fd: Int32
            private var buffer: [UInt8] = []

            init?(ip: String, port: UInt16) {
                guard let fd = Self.connectBlocking(ip: ip, port: port) else { return nil }
                self.fd = fd
            }

            deinit { close(fd) }

            /// A blocking TCP connection with a 10 s receive timeout, or nil.
            static func connectBlocking(ip: String, port: UInt16) -> Int32? {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return nil }
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else { return nil }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let rc = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard rc == 0 else {
                    close(fd)
                    return nil
                }
                return fd
            }

            /// Takes the complete frames off the front of `buffer`; the
            /// answer to `id` if one of them is it.
            static func answer(to id: UInt64, in buffer: inout [UInt8]) -> RPC.Answer? {
                while buffer.count >= 4 {
                    let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
                    guard buffer.count >= 4 + length else { return nil }
                    let body = Array(buffer[4..<(4 + length)])
                    buffer.removeFirst(4 + length)
                    if case .answer(let answerID, let answer)? = try? RPC.decode(body), answerID == id { return answer }
                }
                return nil
            }

            /// Sends one request and returns the answer to it (nil if the
            /// connection closed or timed out first).
            func ask(_ id: UInt64, _ request: RPC.Request, dc: String = "dc1") -> RPC.Answer? {
                let frame = RPC.encode(.request(id: id, RPC.Envelope(datacenter: dc, hops: 1, request: request)))
                guard frame.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == frame.count else { return nil }
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    if let answer = Self.answer(to: id, in: &buffer) { return answer }
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard n > 0 else { return nil }
                    buffer += chunk[0..<n]
                }
            }
        }

        @Test("register, deregister, agent leave, service register, check pass and maintenance sent as raw frames are refused and change nothing; reads still work")
        func forbiddenFrames() throws {
            try Harness.run("server-port") { h in
                let ips = try LoopbackBlock.pick(count: 1, thirdOctets: [125, 135, 145], ports: h.ports)
                let rpcFree = try LoopbackBlock.pick(count: 1, thirdOctets: [125, 135, 145], ports: AgentPorts(gossip: 8302, http: 8300, dns: 8302))
                guard ips == rpcFree else { throw h.fail("no loopback address with every port free: \(ips) vs \(rpcFree)") }
                let server = h.addAgent(name: "gw1", ip: ips[0], retryJoin: [])
                server.command = [h.binary] + server.arguments + ["-server"]
                try h.start(server)
                try h.eventually("the server registers web with a critical TTL check") {
                    let body = Array(#"{"Name":"web","Port":8080,"Check":{"TTL":"10m"}}"#.utf8)
                    let r = try? HTTPClient.put(server.ip, server.ports.http, "/v1/agent/service/register", body: body)
                    return (r?.status == 200, r.map { "\($0.status) \($0.text)" } ?? "unreachable")
                }
                func get(_ path: String) -> String {
                    (try? HTTPClient.get(server.ip, server.ports.http, path)).map { "\($0.status) \($0.text)" } ?? "unreachable"
                }
                let nodesBefore = get("/v1/catalog/nodes"), servicesBefore = get("/v1/catalog/services")
                let healthBefore = get("/v1/health/service/web")
                h.check(healthBefore.contains("\"critical\""), "web starts critical: \(healthBefore)")

                guard let rpc = RawRPC(ip: server.ip, port: 8300) else { throw h.fail("cannot connect to \(server.ip):8300") }
                let forbidden: [(String, String, String)] = [
                    ("PUT", "/v1/catalog/register", #"{"Node":"evil","Address":"127.0.0.1","Service":{"Service":"sshd","Port":22}}"#),
                    ("PUT", "/v1/catalog/deregister", #"{"Node":"gw1"}"#),
                    ("PUT", "/v1/agent/service/register", #"{"Name":"sshd","Port":22}"#),
                    ("PUT", "/v1/agent/service/deregister/web", ""),
                    ("PUT", "/v1/agent/check/pass/service:web", ""),
                    ("PUT", "/v1/agent/maintenance?enable=true&reason=evil", ""),
                    ("PUT", "/v1/agent/service/maintenance/web?enable=true", ""),
                    ("POST", "/v1/operator/keyring", #"{"Key":"pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="}"#),
                    ("GET", "/v1/agent/self", ""),
                    ("PUT", "/v1/agent/leave", ""),
                ]
                for (i, (method, target, body)) in forbidden.enumerated() {
                    let answer = rpc.ask(UInt64(i + 1), .http(method: method, target: target, body: Array(body.utf8)))
                    guard case .failure(let failure)? = answer else {
                        h.check(false, "\(method) \(target) was not refused: \(String(describing: answer))")
                        continue
                    }
                    h.check(failure.code == .forbidden && failure.message.contains("refused"), "\(method) \(target): \(failure)")
                }
                // The reads federation exists for still work, on the same connection.
                let read = rpc.ask(100, .http(method: "GET", target: "/v1/catalog/services", body: []))
                if case .http(let answer)? = read {
                    h.check(answer.status == 200 && String(decoding: answer.body, as: UTF8.self).contains("web"), "read: \(answer)")
                } else {
                    h.check(false, "a catalog read over RPC failed: \(String(describing: read))")
                }
                if case .datacenters(let list)? = rpc.ask(101, .datacenters) {
                    h.check(list == ["dc1"], "datacenters: \(list)")
                } else {
                    h.check(false, "the datacenter list over RPC failed")
                }

                usleep(1_500_000)
                try h.requireRunning([server])
                h.check(get("/v1/catalog/nodes") == nodesBefore, "nodes changed: \(get("/v1/catalog/nodes"))")
                h.check(get("/v1/catalog/services") == servicesBefore, "services changed: \(get("/v1/catalog/services"))")
                let healthAfter = get("/v1/health/service/web")
                h.check(healthAfter.contains("\"critical\"") && !healthAfter.contains("maintenance"), "web's health changed: \(healthAfter)")
                h.check(!get("/v1/health/node/gw1").contains("_node_maintenance"), "maintenance was turned on")
                h.check(try h.members(of: server).first?.status == MemberView.alive, "the server is no longer alive")
                let stats = (try? JSONValue.parse(HTTPClient.get(server.ip, server.ports.http, "/v1/agent/self").body))?["Stats"]?["rpc"]
                h.check(stats?["requests_refused"]?.stringValue == String(forbidden.count), "refusals counted: \(String(describing: stats))")
                h.check(FileIO.readText(server.logPath).contains("refused: only reads travel between datacenters"), "the refusal is logged")
                // A client of the HTTP API cannot send a write through it either.
                let viaAPI = try HTTPClient.put(server.ip, server.ports.http, "/v1/catalog/register?dc=dc2",
                                                body: Array(#"{"Node":"evil","Address":"127.0.0.1"}"#.utf8))
                h.check(viaAPI.status == 400 && viaAPI.text.contains("only reads travel"), "?dc= write: \(viaAPI.status) \(viaAPI.text)")
            }
        }
    }
}
