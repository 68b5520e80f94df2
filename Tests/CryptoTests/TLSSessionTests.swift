import Crypto
import Testing

/// Two TLS sessions wired back to back in memory: handshakes, data both
/// ways, and every refusal the server port will rely on.
@Suite("TLS sessions over memory")
struct TLSSessionTests {
    struct PKI {
        let ca: Certificates.Issued
        let server: Certificates.Issued
        let client: Certificates.Issued

        init() throws {
            ca = try Certificates.createAuthority(commonName: "test ca", days: 30)
            server = try Certificates.createLeaf(commonName: "server.dc1.consul", dnsNames: ["server.dc1.consul", "localhost"],
                                                 ipAddresses: ["127.0.0.1"], days: 30, authority: ca)
            client = try Certificates.createLeaf(commonName: "client.dc1.consul", dnsNames: ["client.dc1.consul", "localhost"],
                                                 ipAddresses: ["127.0.0.1"], days: 30, authority: ca)
        }
    }

    /// Moves bytes between the two until neither has more to say; gives
    /// what each side's application received.
    static func pump(_ a: TLSSession, _ b: TLSSession) -> (a: [TLSSession.Output], b: [TLSSession.Output]) {
        var outA: [TLSSession.Output] = [], outB: [TLSSession.Output] = []
        for _ in 0..<20 {
            let toB = a.takeOutgoing(), toA = b.takeOutgoing()
            if toA.isEmpty && toB.isEmpty { break }
            if !toB.isEmpty { outB += toB.withUnsafeBytes { b.receive($0) } }
            if !toA.isEmpty { outA += toA.withUnsafeBytes { a.receive($0) } }
        }
        return (outA, outB)
    }

    static func text(_ outputs: [TLSSession.Output]) -> String {
        String(decoding: outputs.flatMap { if case .plaintext(let p) = $0 { return p } else { return [] } }, as: UTF8.self)
    }

    @Test("mutual TLS 1.3: both sides established, data both ways, each sees the other's certificate, close_notify arrives")
    func mutual() throws {
        let pki = try PKI()
        let serverContext = try TLSContext(role: .server, certificatePEM: pki.server.certificatePEM, keyPEM: pki.server.keyPEM,
                                           authorityPEM: pki.ca.certificatePEM, verifyPeer: true)
        let clientContext = try TLSContext(role: .client, certificatePEM: pki.client.certificatePEM, keyPEM: pki.client.keyPEM,
                                           authorityPEM: pki.ca.certificatePEM, verifyPeer: true)
        let server = try TLSSession(context: serverContext)
        let client = try TLSSession(context: clientContext, hostname: "server.dc1.consul")
        client.send(Array("hello before the handshake".utf8))
        let first = Self.pump(client, server)
        #expect(client.isEstablished && server.isEstablished)
        #expect(first.a.contains(.established) && first.b.contains(.established))
        #expect(Self.text(first.b) == "hello before the handshake")
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(server.peerCertificate?.matches(host: "client.dc1.consul") == true)
        #expect(server.peerCertificate?.matches(host: "server.dc1.consul") == false)
        #expect(client.peerCertificate?.matches(host: "server.dc1.consul") == true)
        let big = [UInt8](repeating: 0x61, count: 100_000)
        server.send(big)
        #expect(Self.text(Self.pump(client, server).a).utf8.count == big.count)
        client.close()
        #expect(Self.pump(client, server).b.contains(.closed))
    }

    @Test("refused: a client without a certificate, one of another CA, a server of another CA, a server whose name is wrong")
    func refusals() throws {
        let pki = try PKI(), other = try PKI()
        func handshake(serverCert: Certificates.Issued, clientCert: Certificates.Issued?, clientTrusts: Certificates.Issued,
                       hostname: String) throws -> (TLSSession, TLSSession) {
            let server = try TLSSession(context: TLSContext(role: .server, certificatePEM: serverCert.certificatePEM, keyPEM: serverCert.keyPEM,
                                                            authorityPEM: pki.ca.certificatePEM, verifyPeer: true))
            let client = try TLSSession(context: TLSContext(role: .client, certificatePEM: clientCert?.certificatePEM, keyPEM: clientCert?.keyPEM,
                                                            authorityPEM: clientTrusts.certificatePEM, verifyPeer: true), hostname: hostname)
            _ = Self.pump(client, server)
            return (client, server)
        }
        let noCert = try handshake(serverCert: pki.server, clientCert: nil, clientTrusts: pki.ca, hostname: "server.dc1.consul")
        #expect(noCert.1.failure != nil && !noCert.1.isEstablished)
        let foreignClient = try handshake(serverCert: pki.server, clientCert: other.client, clientTrusts: pki.ca, hostname: "server.dc1.consul")
        #expect(foreignClient.1.failure != nil && !foreignClient.1.isEstablished)
        let foreignServer = try handshake(serverCert: other.server, clientCert: pki.client, clientTrusts: pki.ca, hostname: "server.dc1.consul")
        #expect(foreignServer.0.failure != nil && !foreignServer.0.isEstablished)
        // verify_server_hostname: a client certificate cannot pose as a server.
        let posing = try handshake(serverCert: pki.client, clientCert: pki.client, clientTrusts: pki.ca, hostname: "server.dc1.consul")
        #expect(posing.0.failure?.description.contains("certificate") == true, "\(String(describing: posing.0.failure))")
        #expect(!posing.0.isEstablished)
    }

    @Test("a context that adopts another's certificate (a reload) hands it to new sessions; an open session keeps its own")
    func adoptedCertificates() throws {
        let pki = try PKI(), rotated = try PKI()
        func server(_ leaf: Certificates.Issued, _ ca: Certificates.Issued) throws -> TLSContext {
            try TLSContext(role: .server, certificatePEM: leaf.certificatePEM, keyPEM: leaf.keyPEM,
                           authorityPEM: ca.certificatePEM, verifyPeer: false)
        }
        let context = try server(pki.server, pki.ca)
        let client = try TLSContext(role: .client, certificatePEM: nil, keyPEM: nil, authorityPEM: nil, verifyPeer: false)
        let before = try TLSSession(context: context)
        let fresh = try server(rotated.server, rotated.ca)
        context.adopt(fresh)
        let after = try TLSSession(context: context)
        for (session, issuer, other) in [(before, pki.ca, rotated.ca), (after, rotated.ca, pki.ca)] {
            let c = try TLSSession(context: client)
            _ = Self.pump(c, session)
            #expect(c.isEstablished && session.isEstablished)
            let seen = try #require(c.peerCertificate)
            #expect(seen.isSigned(by: try Certificate(pem: issuer.certificatePEM)))
            #expect(!seen.isSigned(by: try Certificate(pem: other.certificatePEM)))
        }
        // The adopted settings outlive the context they came from.
        withExtendedLifetime(fresh) {}
        let later = try TLSSession(context: context)
        let c = try TLSSession(context: client)
        _ = Self.pump(c, later)
        #expect(c.isEstablished)
    }

    @Test("plaintext and garbage to a TLS server fail the session without a trap; a key that does not match its certificate is refused")
    func garbage() throws {
        let pki = try PKI()
        let context = try TLSContext(role: .server, certificatePEM: pki.server.certificatePEM, keyPEM: pki.server.keyPEM,
                                     authorityPEM: pki.ca.certificatePEM, verifyPeer: true)
        for junk in [Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), [0, 0, 0, 12, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1], [UInt8](repeating: 0x16, count: 300)] {
            let session = try TLSSession(context: context)
            let out = junk.withUnsafeBytes { session.receive($0) }
            #expect(session.failure != nil || out.isEmpty)
            #expect(!session.isEstablished)
        }
        #expect(throws: TLSError.self) {
            try TLSContext(role: .server, certificatePEM: pki.server.certificatePEM, keyPEM: pki.client.keyPEM, authorityPEM: nil, verifyPeer: false)
        }
    }
}
