// The HTTPS API and the TLS the agent offers, checked with other people's
// tools: curl with and without a client certificate, the CLI through
// Consul's environment variables, openssl s_client for old protocols, and
// sslscan for protocols and ciphers on the HTTPS and server ports.

import Glibc
import Testing

extension Integration {
    @Suite("HTTPS API and TLS scans")
    struct HTTPS {
        static let weakProtocols = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"]

        /// sslscan's protocol table and accepted ciphers: what is wrong with them (empty when nothing is).
        static func scanProblems(_ output: String) -> [String] {
            var problems: [String] = []
            let lines = output.split(separator: "\n").map { line in
                String(line.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
            }
            for proto in weakProtocols where !lines.contains(where: { $0.hasPrefix(proto) && $0.hasSuffix("disabled") }) {
                problems.append("\(proto) is not reported disabled")
            }
            for proto in ["TLSv1.2", "TLSv1.3"] where !lines.contains(where: { $0.hasPrefix(proto) && $0.hasSuffix("enabled") }) {
                problems.append("\(proto) is not reported enabled")
            }
            let ciphers = lines.filter { $0.hasPrefix("Accepted") || $0.hasPrefix("Preferred") }
            if ciphers.isEmpty { problems.append("no accepted cipher listed") }
            for line in ciphers {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard fields.count >= 5, let bits = Int(fields[2]) else { problems.append("unreadable: \(line)"); continue }
                let (proto, cipher) = (fields[1], fields[4])
                let aead = cipher.contains("GCM") || cipher.contains("CHACHA20")
                let forwardSecret = proto == "TLSv1.3" || cipher.hasPrefix("ECDHE-")
                if !["TLSv1.2", "TLSv1.3"].contains(proto) || !aead || !forwardSecret || bits < 128 {
                    problems.append("weak: \(line)")
                }
            }
            if !output.contains("Session renegotiation not supported") { problems.append("renegotiation is not reported off") }
            return problems
        }

        @Test("HTTPS answers curl --cacert with a client certificate and refuses one without; plaintext gets Go's 400; the CLI speaks HTTPS from CONSUL_ variables; no protocol below TLS 1.2 and no weak cipher on either port")
        func httpsAndScans() throws {
            try Harness.run("https") { h in
                let ips = try LoopbackBlock.pick(count: 1, thirdOctets: [127, 137, 147], ports: h.ports)
                let extra = try LoopbackBlock.pick(count: 1, thirdOctets: [127, 137, 147], ports: AgentPorts(gossip: 8302, http: 8300, dns: 8501))
                guard ips == extra else { throw h.fail("no loopback address with every port free: \(ips) vs \(extra)") }
                let ip = ips[0]
                let pki = try TestPKI(directory: h.directory + "/tls")
                let (cert, key) = try pki.issue(server: true, dc: "dc1", name: "gw1", ipAddresses: [ip])
                let (clientCert, clientKey) = try pki.issue(server: false, dc: "dc1", name: "cli")
                // The server port accepts TLS without requiring client certificates (so a
                // scanner sees every suite); HTTPS requires them.
                let configPath = pki.configFile(name: "gw1", cert: cert, key: key, verifyIncoming: false,
                                                httpsVerifyIncoming: true, extra: #", "ports": {"https": 8501}"#)
                let gw1 = h.addAgent(name: "gw1", ip: ip, retryJoin: [])
                gw1.command = [h.binary] + gw1.arguments + ["-server", "-config-file", configPath]
                try h.start(gw1)
                let https = "https://\(ip):8501"
                try h.eventually("HTTPS answers curl with the CA and a client certificate") {
                    let r = try h.run("/usr/bin/curl", ["-sS", "--cacert", pki.caFile, "--cert", clientCert, "--key", clientKey,
                                                        "\(https)/v1/agent/self"], label: "curl")
                    return (r.status == .exited(0) && r.stdout.contains("\"Datacenter\""), "\(r.status) \(r.stderr)")
                }
                let noCert = try h.run("/usr/bin/curl", ["-sS", "--cacert", pki.caFile, "\(https)/v1/agent/self"], label: "curl")
                h.check(noCert.status != .exited(0) && !noCert.stdout.contains("Datacenter"), "without a client certificate: \(noCert)")
                let untrusted = try h.run("/usr/bin/curl", ["-sS", "--cert", clientCert, "--key", clientKey, "\(https)/v1/agent/self"], label: "curl")
                h.check(untrusted.status == .exited(60), "curl must not trust the agent's certificate without the CA: \(untrusted)")
                let plaintext = try h.run("/usr/bin/curl", ["-sS", "-w", "%{http_code}", "http://\(ip):8501/v1/agent/self"], label: "curl")
                h.check(plaintext.stdout.contains("Client sent an HTTP request to an HTTPS server.") && plaintext.stdout.hasSuffix("400"),
                        "plaintext to the HTTPS port: \(plaintext)")

                // The CLI, configured the way Consul's is.
                let environment = ["CONSUL_HTTP_ADDR=\(https)", "CONSUL_CACERT=\(pki.caFile)",
                                   "CONSUL_CLIENT_CERT=\(clientCert)", "CONSUL_CLIENT_KEY=\(clientKey)"]
                let members = try h.fedagent(["members"], environment: environment)
                h.check(members.status == .exited(0) && members.stdout.contains("gw1"), "fedagent members over HTTPS: \(members)")
                let refused = try h.fedagent(["members"], environment: Array(environment.prefix(2)))
                h.check(refused.status != .exited(0) && refused.stderr.contains("TLS"), "without a client certificate: \(refused)")
                let flags = try h.fedagent(["members", "-http-addr", https, "-ca-file", pki.caFile, "-client-cert", clientCert,
                                            "-client-key", clientKey])
                h.check(flags.status == .exited(0) && flags.stdout.contains("gw1"), "fedagent members with TLS flags: \(flags)")

                // Old protocols are refused outright; TLS 1.3 is what a modern client gets.
                for (port, proto) in [(8501, "-tls1_1"), (8300, "-tls1_1"), (8300, "-tls1")] {
                    let r = try h.run("/usr/bin/openssl", ["s_client", "-connect", "\(ip):\(port)", proto, "-CAfile", pki.caFile],
                                      label: "openssl", timeout: 20)
                    h.check(r.status != .exited(0) && !r.stdout.contains("BEGIN CERTIFICATE"), "\(proto) on \(port) was accepted: \(r)")
                }
                let modern = try h.run("/usr/bin/openssl", ["s_client", "-connect", "\(ip):8300", "-CAfile", pki.caFile,
                                                            "-verify_return_error", "-verify_hostname", "server.dc1.consul"],
                                       label: "openssl", timeout: 20)
                h.check(modern.stdout.contains("TLSv1.3") && modern.stdout.contains("Verify return code: 0 (ok)"), "openssl s_client on 8300: \(modern)")

                guard let sslscan = NetnsLab.findProgram("sslscan") else { throw h.fail("sslscan is not installed (scripts/test.sh installs it)") }
                for port in [8300, 8501] {
                    let scan = try h.run(sslscan, ["--no-colour", "\(ip):\(port)"], label: "sslscan", timeout: 120)
                    var problems = Self.scanProblems(scan.stdout)
                    // With client certificates required, sslscan cannot list TLS 1.2 suites: only the protocols count there.
                    if port == 8501 { problems.removeAll { $0 == "no accepted cipher listed" } }
                    h.check(problems.isEmpty, "sslscan \(ip):\(port): \(problems)\n\(scan.stdout)")
                }
                // Rotation: new files under the same names, a reload, and new
                // connections get the new certificate (no restart).
                func served(_ port: Int) throws -> String {
                    let r = try h.run("/usr/bin/openssl", ["s_client", "-connect", "\(ip):\(port)", "-CAfile", pki.caFile,
                                                           "-cert", clientCert, "-key", clientKey], label: "openssl", timeout: 20)
                    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
                    guard let start = lines.firstIndex(of: "-----BEGIN CERTIFICATE-----"),
                          let end = lines[start...].firstIndex(of: "-----END CERTIFICATE-----") else { return "" }
                    return lines[start...end].joined(separator: "\n")
                }
                func pem(_ path: String) -> String { FileIO.readText(path).trimmingCharacters(in: "\n") }
                h.check(try served(8501) == pem(cert), "HTTPS serves the certificate of the file")
                let (nextCert, nextKey) = try pki.issue(server: true, dc: "dc1", name: "gw1-next", ipAddresses: [ip])
                h.check(rename(nextCert, cert) == 0 && rename(nextKey, key) == 0, "rotated the files")
                let reload = try h.fedagent(["reload"], environment: environment)
                h.check(reload.status == .exited(0) && reload.stdout.contains("certificates, keys and CA reloaded")
                        && !reload.stdout.contains("needs a restart"), "reload applies the new certificate: \(reload)")
                for port in [8501, 8300] {
                    h.check(try served(port) == pem(cert), "port \(port) serves the rotated certificate after the reload")
                }
                try h.requireRunning([gw1])
            }
        }
    }
}
