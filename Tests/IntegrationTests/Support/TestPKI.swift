import Crypto
import Glibc

/// A CA and agent certificates in Consul's shapes, written as PEM files
/// under a test's directory, and the TLS configuration files that point
/// agents at them.
struct TestPKI {
    let directory: String
    let authority: Certificates.Issued
    var caFile: String { directory + "/consul-agent-ca.pem" }

    init(directory: String, commonName: String = "fedagent test CA") throws {
        self.directory = directory
        mkdir(directory, 0o700)
        authority = try Certificates.createAuthority(commonName: commonName, days: 2)
        FileIO.append(caFile, authority.certificatePEM)
    }

    /// A server (`server.<dc>.consul`) or client (`client.<dc>.consul`)
    /// certificate, both with localhost and 127.0.0.1 as Consul makes
    /// them; returns the certificate and key files.
    func issue(server: Bool, dc: String, name: String, ipAddresses: [String] = []) throws -> (cert: String, key: String) {
        let role = server ? "server" : "client"
        let issued = try Certificates.createLeaf(commonName: "\(role).\(dc).consul", dnsNames: ["\(role).\(dc).consul", "localhost"],
                                                 ipAddresses: ["127.0.0.1"] + ipAddresses, days: 2, authority: authority)
        let cert = "\(directory)/\(name).pem", key = "\(directory)/\(name)-key.pem"
        FileIO.append(cert, issued.certificatePEM)
        FileIO.append(key, issued.keyPEM)
        chmod(key, 0o600)
        return (cert, key)
    }

    /// A configuration file with Consul's `tls` block: mutual TLS on the
    /// server port, verified outgoing connections with server hostnames.
    /// `httpsVerifyIncoming`: `tls.https.verify_incoming`; `extra`: more
    /// top-level members (", \"ports\": {...}").
    func configFile(name: String, cert: String, key: String, verifyIncoming: Bool = true,
                    verifyServerHostname: Bool = true, httpsVerifyIncoming: Bool? = nil, extra: String = "") -> String {
        let path = "\(directory)/\(name)-tls.json"
        let https = httpsVerifyIncoming.map { #""https": {"verify_incoming": \#($0)}, "# } ?? ""
        FileIO.append(path, """
            {"tls": {"defaults": {"ca_file": "\(caFile)", "cert_file": "\(cert)", "key_file": "\(key)",
                                  "verify_incoming": \(verifyIncoming), "verify_outgoing": true},
                     \(https)"internal_rpc": {"verify_server_hostname": \(verifyServerHostname)}}\(extra)}
            """)
        return path
    }
}
