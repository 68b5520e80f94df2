import Crypto
import Glibc
import Sockets
import TestSupport
import Testing

/// TLS under the relay on real loopback connections, as the gateways run
/// it: client (blocking) → gateway 1 (plaintext in, TLS client out) →
/// gateway 2 (TLS server in, plaintext out) → upstream (blocking). Every
/// byte between the gateways is a TLS record; the streams must arrive
/// intact, half-close must carry through close_notify, backpressure must
/// still bound the buffers, and a peer that fails TLS must never reach
/// the upstream with a byte.
@Suite(.serialized) struct TLSRelayTests {
    struct PKI {
        let server: TLSContext
        let client: TLSContext
        /// A client with a certificate of another CA, and one with none.
        let stranger: TLSContext
        let anonymous: TLSContext

        init() throws {
            let ca = try Certificates.createAuthority(commonName: "relay test ca", days: 2)
            let other = try Certificates.createAuthority(commonName: "another ca", days: 2)
            let server = try Certificates.createLeaf(commonName: "server.dc1.consul", dnsNames: ["server.dc1.consul"],
                                                     ipAddresses: [], days: 2, authority: ca)
            let client = try Certificates.createLeaf(commonName: "client.dc1.consul", dnsNames: ["client.dc1.consul"],
                                                     ipAddresses: [], days: 2, authority: ca)
            let foreign = try Certificates.createLeaf(commonName: "client.dc1.consul", dnsNames: ["client.dc1.consul"],
                                                      ipAddresses: [], days: 2, authority: other)
            self.server = try TLSContext(role: .server, certificatePEM: server.certificatePEM, keyPEM: server.keyPEM,
                                         authorityPEM: ca.certificatePEM, verifyPeer: true)
            self.client = try TLSContext(role: .client, certificatePEM: client.certificatePEM, keyPEM: client.keyPEM,
                                         authorityPEM: ca.certificatePEM, verifyPeer: true)
            stranger = try TLSContext(role: .client, certificatePEM: foreign.certificatePEM, keyPEM: foreign.keyPEM,
                                      authorityPEM: ca.certificatePEM, verifyPeer: true)
            anonymous = try TLSContext(role: .client, certificatePEM: nil, keyPEM: nil,
                                       authorityPEM: ca.certificatePEM, verifyPeer: true)
        }
    }

    /// Gateway 2 (TLS in) in front of `upstream`, and gateway 1 (TLS out with `client`) in front of it.
    static func chain(to upstream: UInt16, pki: PKI, client: TLSContext? = nil, bufferLimit: Int = TCPRelay.defaultBufferLimit)
        throws -> (outer: RelayGateway, inner: RelayGateway) {
        let server = pki.server
        let inner = try RelayGateway(upstream: upstream, bufferLimit: bufferLimit,
                                     acceptedSecurity: { try? TLSSession(context: server) })
        let clientContext = client ?? pki.client
        let outer = try RelayGateway(upstream: inner.port, bufferLimit: bufferLimit,
                                     upstreamSecurity: { try? TLSSession(context: clientContext, hostname: "server.dc1.consul") })
        return (outer, inner)
    }

    @Test(arguments: [TCPRelay.defaultBufferLimit, 4096])
    func bulkBothWaysThroughTLSArrivesIntact(bufferLimit: Int) throws {
        let total = 32 << 20
        let pki = try PKI()
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let (outer, inner) = try Self.chain(to: upstream.port, pki: pki, bufferLimit: bufferLimit)
        defer { outer.shutdown(); inner.shutdown() }
        let client = try #require(BlockingSocket.connect(port: outer.port))
        defer { client.close() }
        let server = try #require(upstream.accept())
        defer { server.close() }

        let up = TestThread { sendPattern(client, seed: 11, total: total) }
        let down = TestThread { sendPattern(server, seed: 12, total: total) }
        let atServer = TestThread { receiveHashed(server) }
        let atClient = TestThread { receiveHashed(client) }
        let (sentUp, sentDown) = (up.join(), down.join())
        let (gotUp, gotDown) = (atServer.join(), atClient.join())
        #expect(gotUp?.count == total && gotDown?.count == total)
        #expect(gotUp == sentUp, "client → server stream differs")
        #expect(gotDown == sentDown, "server → client stream differs")
        let outerStats = try #require(outer.awaitFinished(1)?.first)
        let innerStats = try #require(inner.awaitFinished(1)?.first)
        #expect(outerStats.reason.isCompleted && innerStats.reason.isCompleted, "\(outerStats); \(innerStats)")
        // The relay counts plaintext on both gateways: the same bytes.
        #expect(innerStats.bytesAToB == UInt64(total) && innerStats.bytesBToA == UInt64(total))
        // Ciphertext and held plaintext count against the same bound.
        #expect(innerStats.peakBufferedBytes <= 2 * max(bufferLimit, 2 * 65536), "\(innerStats)")
    }

    @Test func halfCloseTravelsAsCloseNotifyAndTheAnswerStillArrives() throws {
        let pki = try PKI()
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let (outer, inner) = try Self.chain(to: upstream.port, pki: pki)
        defer { outer.shutdown(); inner.shutdown() }
        let client = try #require(BlockingSocket.connect(port: outer.port))
        defer { client.close() }
        let serverSide = TestThread { () -> (request: StreamHash?, answered: Bool) in
            guard let server = upstream.accept() else { return (nil, false) }
            defer { server.close() }
            let request = receiveHashed(server)  // to the client's EOF, through both gateways
            return (request, request != nil && sendPattern(server, seed: 14, total: 1 << 20) != nil)
        }
        let sent = sendPattern(client, seed: 13, total: 200_000)  // then shuts down its write side
        let answer = receiveHashed(client)
        let seen = serverSide.join()
        #expect(sent != nil && seen.request == sent)
        #expect(seen.answered)
        #expect(answer == patternHash(seed: 14, total: 1 << 20), "answer: \(answer?.count ?? -1) bytes")
        let innerStats = try #require(inner.awaitFinished(1)?.first)
        #expect(innerStats.reason.isCompleted, "\(innerStats)")
    }

    /// What a stranger sends to the TLS side: no certificate, a certificate
    /// of another CA, plaintext. Each ends the relay with a TLS failure and
    /// the upstream reads nothing at all.
    @Test(arguments: ["no certificate", "another CA", "plaintext"])
    func aPeerThatFailsTLSNeverReachesTheUpstream(_ who: String) throws {
        let pki = try PKI()
        let upstream = try #require(BlockingListener())
        defer { upstream.close() }
        let server = pki.server
        let inner = try RelayGateway(upstream: upstream.port, acceptedSecurity: { try? TLSSession(context: server) })
        defer { inner.shutdown() }
        let outer: RelayGateway?
        let entry: UInt16
        if who == "plaintext" {
            outer = nil
            entry = inner.port
        } else {
            let context = who == "no certificate" ? pki.anonymous : pki.stranger
            let gateway = try RelayGateway(upstream: inner.port,
                                           upstreamSecurity: { try? TLSSession(context: context, hostname: "server.dc1.consul") })
            outer = gateway
            entry = gateway.port
        }
        defer { outer?.shutdown() }
        let client = try #require(BlockingSocket.connect(port: entry))
        defer { client.close() }
        let reached = try #require(upstream.accept())
        defer { reached.close() }
        _ = client.sendAll(Array("GET /v1/agent/self HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let stats = try #require(inner.awaitFinished(1)?.first)
        guard case .failed(.a, let error) = stats.reason else {
            Issue.record("the relay ended with \(stats.reason)")
            return
        }
        #expect(error.operation.hasPrefix("TLS"), "\(error)")
        #expect(stats.bytesAToB == 0)
        // The upstream connection ends (reset by the failed relay) without a byte.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        var bytes = 0
        while case let n = reached.receive(into: buffer), n > 0 { bytes += n }
        #expect(bytes == 0, "the upstream read \(bytes) bytes from a peer that failed TLS")
    }
}
