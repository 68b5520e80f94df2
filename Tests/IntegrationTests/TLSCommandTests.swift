// `fedagent tls ca create` and `tls cert create`: Consul's file names and
// modes, certificates that `openssl verify` accepts against the CA, the
// subject alternative names Consul gives, and clear refusals.

import Glibc
import Testing

extension Integration {
    @Suite("TLS certificate commands")
    struct TLSCommands {
        @Test("a CA and server and client certificates in Consul's files, verified by openssl, with Consul's names; no overwrite; bad flags exit 1")
        func createCertificates() throws {
            try Harness.run("tls-cli") { h in
                let dir = h.directory + "/pki"
                FileIO.makeDirectory(dir)
                func tls(_ args: [String]) throws -> CommandResult {
                    try h.run("/bin/sh", ["-c", "cd \"$0\" && b=\"$1\" && shift && exec \"$b\" tls \"$@\"", dir, h.binary] + args, label: "fedagent tls")
                }
                var r = try tls(["ca", "create"])
                h.check(r.status == .exited(0) && r.stdout.contains("Saved consul-agent-ca.pem"), "ca create: \(r)")
                r = try tls(["cert", "create", "-server", "-dc", "dc2", "-node", "s1", "-additional-dnsname", "gw.example.com"])
                h.check(r.status == .exited(0) && r.stdout.contains("Saved dc2-server-consul-0-key.pem"), "server cert: \(r)")
                r = try tls(["cert", "create", "-client", "-dc", "dc2"])
                h.check(r.status == .exited(0) && r.stdout.contains("Saved dc2-client-consul-0.pem"), "client cert: \(r)")
                for (file, mode) in [("consul-agent-ca.pem", 0o644), ("consul-agent-ca-key.pem", 0o600),
                                     ("dc2-server-consul-0.pem", 0o644), ("dc2-server-consul-0-key.pem", 0o600)] {
                    var info = stat()
                    h.check(stat(dir + "/" + file, &info) == 0 && Int(info.st_mode & 0o777) == mode,
                            "\(file) should exist with mode \(String(mode, radix: 8))")
                }
                guard FileIO.isExecutable("/usr/bin/openssl") else { return h.note("no openssl CLI: verification skipped") }
                let verify = try h.run("/usr/bin/openssl", ["verify", "-CAfile", dir + "/consul-agent-ca.pem",
                                                            dir + "/dc2-server-consul-0.pem", dir + "/dc2-client-consul-0.pem"], label: "openssl")
                h.check(verify.status == .exited(0) && verify.stdout.contains("dc2-client-consul-0.pem: OK"), "openssl verify: \(verify)")
                let text = try h.run("/usr/bin/openssl", ["x509", "-noout", "-text", "-in", dir + "/dc2-server-consul-0.pem"], label: "openssl").stdout
                for want in ["DNS:server.dc2.consul", "DNS:s1.server.dc2.consul", "DNS:localhost", "DNS:gw.example.com",
                             "IP Address:127.0.0.1", "TLS Web Server Authentication", "TLS Web Client Authentication", "prime256v1"] {
                    h.check(text.contains(want), "the server certificate should have \(want):\n\(text)")
                }
                let client = try h.run("/usr/bin/openssl", ["x509", "-noout", "-text", "-in", dir + "/dc2-client-consul-0.pem"], label: "openssl").stdout
                h.check(client.contains("DNS:client.dc2.consul") && !client.contains("server.dc2"), "client names:\n\(client)")
                let ca = try h.run("/usr/bin/openssl", ["x509", "-noout", "-text", "-in", dir + "/consul-agent-ca.pem"], label: "openssl").stdout
                h.check(ca.contains("CA:TRUE") && ca.contains("Certificate Sign"), "CA extensions:\n\(ca)")

                r = try tls(["ca", "create"])
                h.check(r.status == .exited(1) && r.stderr.contains("already exists"), "a second ca create: \(r)")
                for bad in [["cert", "create"], ["cert", "create", "-server", "-client"], ["cert", "create", "-client", "-node", "x"],
                            ["cert", "create", "-server", "-additional-ipaddress", "nope"], ["cert", "create", "-server", "-days", "0"],
                            ["cert", "create", "-server", "-ca", "/nonexistent"]] {
                    r = try tls(bad)
                    h.check(r.status == .exited(1) && r.stderr.hasPrefix("==> "), "\(bad): \(r)")
                }
            }
        }
    }
}
