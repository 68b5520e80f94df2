import Crypto
import Testing

@Suite("Certificates")
struct CertificateTests {
    @Test("a CA is a CA for 5 years, self-signed, and its PEM parses back")
    func authority() throws {
        let ca = try Certificates.createAuthority(commonName: "Consul Agent CA 1234", days: 1825)
        #expect(ca.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(ca.keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let cert = try Certificate(pem: ca.certificatePEM)
        #expect(cert.isAuthority)
        #expect(cert.isSigned(by: cert))
        #expect((1823...1825).contains(cert.daysLeft))
        #expect(cert.commonName == "Consul Agent CA 1234")
    }

    @Test("a server certificate names server.dc1.consul, the node's name, localhost and 127.0.0.1, serves and dials, for a year, signed by the CA only")
    func server() throws {
        let ca = try Certificates.createAuthority(commonName: "ca", days: 1825)
        let other = try Certificates.createAuthority(commonName: "another ca", days: 1825)
        let leaf = try Certificates.createLeaf(commonName: "server.dc1.consul",
                                               dnsNames: ["server.dc1.consul", "s1.server.dc1.consul", "localhost"],
                                               ipAddresses: ["127.0.0.1", "10.0.0.5"], days: 365, authority: ca)
        let cert = try Certificate(pem: leaf.certificatePEM)
        for host in ["server.dc1.consul", "s1.server.dc1.consul", "localhost", "SERVER.dc1.consul"] { #expect(cert.matches(host: host), "\(host)") }
        for host in ["client.dc1.consul", "server.dc2.consul", "x.server.dc1.consul", "dc1.consul"] { #expect(!cert.matches(host: host), "\(host)") }
        #expect(cert.matches(ip: "127.0.0.1") && cert.matches(ip: "10.0.0.5") && !cert.matches(ip: "10.0.0.6"))
        #expect(!cert.isAuthority && cert.isServerAndClient)
        #expect(cert.isSigned(by: try Certificate(pem: ca.certificatePEM)))
        #expect(!cert.isSigned(by: try Certificate(pem: other.certificatePEM)))
        #expect((363...365).contains(cert.daysLeft))
        #expect(cert.commonName == "server.dc1.consul")
        // Two certificates never share a key.
        let again = try Certificates.createLeaf(commonName: "server.dc1.consul", dnsNames: ["server.dc1.consul"], ipAddresses: [],
                                                days: 365, authority: ca)
        #expect(again.keyPEM != leaf.keyPEM)
    }

    @Test("bad input is a clear error: names with separators, days out of range, a CA that is not PEM")
    func badInput() throws {
        let ca = try Certificates.createAuthority(commonName: "ca", days: 10)
        #expect(throws: Certificates.Failure.self) {
            try Certificates.createLeaf(commonName: "x", dnsNames: ["a,DNS:evil.com"], ipAddresses: [], days: 1, authority: ca)
        }
        #expect(throws: Certificates.Failure.self) {
            try Certificates.createLeaf(commonName: "x", dnsNames: ["a b"], ipAddresses: [], days: 1, authority: ca)
        }
        #expect(throws: Certificates.Failure.self) { try Certificates.createAuthority(commonName: "ca", days: 0) }
        #expect(throws: Certificates.Failure.self) { try Certificates.createAuthority(commonName: "", days: 1) }
        #expect(throws: Certificates.Failure.self) {
            try Certificates.createLeaf(commonName: "x", dnsNames: ["a"], ipAddresses: [], days: 1,
                                        authority: Certificates.Issued(certificatePEM: "junk", keyPEM: ca.keyPEM))
        }
        #expect(throws: Certificates.Failure.self) { try Certificate(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n") }
    }
}
