// Mutual TLS on the server port, from a stranger's side: no certificate,
// a certificate of another CA, plaintext, and an agent's certificate
// asking for what only a server of another datacenter may ask are each
// refused; a "server" that shows a client certificate is refused by the
// agents that dial it with hostname verification; a scanner finds
// nothing below TLS 1.2 and no weak cipher.

import Agent
import Crypto
import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Server port TLS")
    struct ServerPortTLS {
        /// RPC frames over a TLS session on a blocking socket (the test's
        /// own client: it can present any certificate, or none).
        final class TLSRawRPC {
            let fd: Int32
            let session: TLSSession
            private var plaintext: [UInt8] = []
            /// Why the connection ended, once it has.
            private(set) var ended: String?

            init?(ip: String, port: UInt16, context: TLSContext, hostname: String? = nil) {
                guard let session = try? TLSSession(context: context, hostname: hostname) else { return nil }
                self.session = session
                guard let fd = Integration.ServerPort.RawRPC.connectBlocking(ip: ip, port: port) else { return nil }
                self.fd = fd
            }

            deinit { close(fd) }

            private func flush() {
                let out = session.takeOutgoing()
                _ = out.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }

            /// Sends one request and returns the answer (nil once the
            /// connection ended first: see `ended`).
            func ask(_ id: UInt64, _ request: RPC.Request, dc: String = "dc1", hops: UInt8 = 1) -> RPC.Answer? {
                session.send(RPC.encode(.request(id: id, RPC.Envelope(datacenter: dc, hops: hops, request: request))))
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    flush()
                    if let answer = Integration.ServerPort.RawRPC.answer(to: id, in: &plaintext) { return answer }
                    // An answer that came with the close is still read above.
                    if ended != nil { return nil }
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard n > 0 else {
                        ended = n == 0 ? "closed" : "recv: \(String(cString: strerror(errno)))"
                        return nil
                    }
                    for output in chunk[0..<n].withUnsafeBytes({ session.receive($0) }) {
                        switch output {
                        case .plaintext(let bytes): plaintext += bytes
                        case .failed(let why): ended = why
                        case .closed: ended = "close_notify"
                        case .established: break
                        }
                    }
                }
            }
        }

        @Test("no certificate, another CA's certificate and plaintext are refused; an agent certificate cannot ask what a server of another datacenter asks; a client certificate posing as a server is refused by hostname verification")
        func strangersAreRefused() throws {
            try Harness.run("server-port-tls") { h in
                let serverPorts = AgentPorts(gossip: 8302, http: 8300, dns: 8302)
                let ips = try LoopbackBlock.pick(count: 4, thirdOctets: [126, 136, 146], ports: h.ports)
                let rpcFree = try LoopbackBlock.pick(count: 4, thirdOctets: [126, 136, 146], ports: serverPorts)
                guard ips == rpcFree else { throw h.fail("no loopback block with every port free: \(ips) vs \(rpcFree)") }
                let pki = try TestPKI(directory: h.directory + "/tls")
                let stranger = try TestPKI(directory: h.directory + "/other-ca", commonName: "somebody else's CA")

                // gw1: a server with mutual TLS required and hostname verification.
                let (serverCert, serverKey) = try pki.issue(server: true, dc: "dc1", name: "gw1")
                let gw1 = h.addAgent(name: "gw1", ip: ips[0], retryJoin: [])
                gw1.command = [h.binary] + gw1.arguments + ["-server", "-config-file", pki.configFile(name: "gw1", cert: serverCert, key: serverKey)]
                // rogue: a "server" of its own pool holding only a client certificate.
                let (clientCert, clientKey) = try pki.issue(server: false, dc: "dc1", name: "client")
                let rogue = h.addAgent(name: "rogue", ip: ips[1], retryJoin: [])
                rogue.command = [h.binary] + rogue.arguments + ["-server", "-ca-file", pki.caFile, "-cert-file", clientCert, "-key-file", clientKey]
                // Two clients of the rogue's pool: one checks server hostnames, one only the chain.
                let strict = h.addAgent(name: "strict", ip: ips[2], retryJoin: [rogue.gossipAddress])
                strict.command = [h.binary] + strict.arguments + ["-ca-file", pki.caFile, "-cert-file", clientCert, "-key-file", clientKey,
                                                                  "-verify-server-hostname"]
                let lax = h.addAgent(name: "lax", ip: ips[3], retryJoin: [rogue.gossipAddress])
                lax.command = [h.binary] + lax.arguments + ["-ca-file", pki.caFile, "-cert-file", clientCert, "-key-file", clientKey,
                                                            "-verify-outgoing"]
                for agent in [gw1, rogue, strict, lax] { try h.start(agent) }
                try h.eventually("gw1 registers web") {
                    let r = try? HTTPClient.put(gw1.ip, gw1.ports.http, "/v1/agent/service/register", body: Array(#"{"Name":"web","Port":8080}"#.utf8))
                    return (r?.status == 200, r.map { "\($0.status) \($0.text)" } ?? "unreachable")
                }
                func context(_ cert: (cert: String, key: String)?, trusting ca: String) throws -> TLSContext {
                    try TLSContext(role: .client, certificatePEM: cert.map { FileIO.readText($0.cert) }, keyPEM: cert.map { FileIO.readText($0.key) },
                                   authorityPEM: FileIO.readText(ca), verifyPeer: true)
                }
                func rpcStats() -> JSONValue? {
                    (try? JSONValue.parse(HTTPClient.get(gw1.ip, gw1.ports.http, "/v1/agent/self").body))?["Stats"]?["rpc"]
                }
                let servicesBefore = try HTTPClient.get(gw1.ip, gw1.ports.http, "/v1/catalog/services").text

                // 1. No certificate, and a certificate of another CA: the handshake fails, nothing is answered.
                let foreign = try stranger.issue(server: false, dc: "dc1", name: "foreign")
                for (label, ctx) in [("no certificate", try context(nil, trusting: pki.caFile)),
                                     ("another CA's certificate", try context(foreign, trusting: pki.caFile))] {
                    guard let rpc = TLSRawRPC(ip: gw1.ip, port: 8300, context: ctx) else { throw h.fail("cannot connect to gw1:8300") }
                    let answer = rpc.ask(1, .http(method: "PUT", target: "/v1/agent/service/register", body: Array(#"{"Name":"sshd","Port":22}"#.utf8)))
                    h.check(answer == nil, "\(label): answered \(String(describing: answer))")
                    h.check(rpc.ended != nil, "\(label): the connection should have ended")
                    h.note("\(label): \(rpc.ended ?? "?")")
                }
                // 2. Plaintext on the TLS-only port: closed, logged.
                if let plain = Integration.ServerPort.RawRPC(ip: gw1.ip, port: 8300) {
                    let answer = plain.ask(2, .datacenters)
                    h.check(answer == nil, "plaintext: answered \(String(describing: answer))")
                }
                try h.eventually("the refusals are counted") {
                    let rpc = rpcStats()
                    let seen = [rpc?["tls_handshakes_failed"]?.stringValue, rpc?["tls_plaintext_refused"]?.stringValue]
                    return (seen == ["2", "1"], "\(seen)")
                }
                h.check(FileIO.readText(gw1.logPath).contains("closed a plaintext connection"), "the plaintext refusal is logged")

                // 3. An agent's certificate of the right CA: reads work, but not what only a server of another datacenter may ask.
                let agentContext = try context((clientCert, clientKey), trusting: pki.caFile)
                guard let rpc = TLSRawRPC(ip: gw1.ip, port: 8300, context: agentContext, hostname: "server.dc1.consul") else {
                    throw h.fail("cannot connect to gw1:8300")
                }
                if case .datacenters(let list)? = rpc.ask(3, .datacenters) {
                    h.check(list == ["dc1"], "datacenters: \(list)")
                } else {
                    h.check(false, "an agent certificate should be answered: \(rpc.ended ?? "")")
                }
                let relayed = rpc.ask(4, .http(method: "GET", target: "/v1/catalog/services", body: []), hops: 2)
                if case .failure(let failure)? = relayed {
                    h.check(failure.code == .forbidden && failure.message.contains("not a server"), "relayed read: \(failure)")
                } else {
                    h.check(false, "a read relayed as if from another datacenter was not refused: \(String(describing: relayed))")
                }
                let tunnel = rpc.ask(5, .tunnel(service: "web"), hops: 2)
                if case .failure(let failure)? = tunnel {
                    h.check(failure.code == .forbidden && failure.message.contains("server certificate"), "second-hop tunnel: \(failure)")
                } else {
                    h.check(false, "a gateway's second hop was opened for an agent certificate: \(String(describing: tunnel))")
                }
                h.check(try HTTPClient.get(gw1.ip, gw1.ports.http, "/v1/catalog/services").text == servicesBefore, "the catalog changed")
                try h.requireRunning([gw1])

                // 4. Dialling a "server" that shows a client certificate: refused with hostname verification, accepted without.
                try h.eventually("the lax client reaches the rogue server (chain verified, no hostname check)") {
                    let r = try? HTTPClient.get(lax.ip, lax.ports.http, "/v1/catalog/datacenters")
                    return (r?.status == 200 && r?.text.contains("dc1") == true, r.map { "\($0.status) \($0.text)" } ?? "unreachable")
                }
                let refused = try HTTPClient.get(strict.ip, strict.ports.http, "/v1/catalog/datacenters")
                h.check(refused.status != 200, "the strict client accepted a client certificate as a server: \(refused.status) \(refused.text)")
                try h.eventually("the rogue server counts the handshakes the strict client gave up") {
                    let rpc = (try? JSONValue.parse(HTTPClient.get(rogue.ip, rogue.ports.http, "/v1/agent/self").body))?["Stats"]?["rpc"]
                    let failed = Int(rpc?["tls_handshakes_failed"]?.stringValue ?? "") ?? 0
                    return (failed >= 1, "tls_handshakes_failed \(failed)")
                }
            }
        }
    }
}
