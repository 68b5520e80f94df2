@testable import Agent
@testable import CatalogCore
import Crypto
import Testing

@Suite struct TLSConfigTests {
    static func config(_ arguments: [String]) throws -> AgentConfig {
        try AgentConfig.from(CommandLineFlags(arguments, specs: AgentConfig.flagSpecs), hostName: "h")
    }

    static func failure(_ arguments: [String]) -> String? {
        do {
            _ = try config(arguments)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("tls.defaults, tls.internal_rpc, tls.https and ports.https from a file; the older top-level keys; flags win")
    func keys() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let modern = try dir.write("tls.json", #"""
            {"tls": {"defaults": {"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem",
                                  "verify_incoming": true, "verify_outgoing": true},
                     "internal_rpc": {"verify_server_hostname": true},
                     "https": {"verify_incoming": false}},
             "ports": {"https": 8501}, "server": true}
            """#)
        let c = try Self.config(["-config-file", modern])
        #expect(c.tls.caFile == "/ca.pem" && c.tls.certFile == "/c.pem" && c.tls.keyFile == "/k.pem")
        #expect(c.tls.verifyIncoming && c.tls.verifyOutgoing && c.tls.verifyServerHostname)
        #expect(c.tls.effectiveRPCVerifyIncoming && !c.tls.effectiveHTTPSVerifyIncoming)
        #expect(c.httpsPort == 8501 && c.warnings.isEmpty)

        let legacy = try dir.write("old.json", #"""
            {"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem", "verify_incoming": false,
             "verify_outgoing": false, "verify_server_hostname": true, "verify_incoming_https": true}
            """#)
        let old = try Self.config(["-config-file", legacy, "-https-port", "9501"])
        #expect(old.tls.caFile == "/ca.pem" && old.tls.verifyServerHostname && old.tls.effectiveHTTPSVerifyIncoming)
        // Consul: hostname verification implies verifying what is dialled.
        #expect(!old.tls.verifyOutgoing && old.tls.effectiveVerifyOutgoing)
        #expect(old.httpsPort == 9501)

        let flagged = try Self.config(["-config-file", modern, "-ca-file", "/other.pem", "-verify-incoming=false", "-https-port", "-1"])
        #expect(flagged.tls.caFile == "/other.pem" && !flagged.tls.verifyIncoming && flagged.httpsPort == nil)
        #expect(try Self.config([]).tls == TLSSettings() && (try Self.config([])).httpsPort == nil)
    }

    @Test("settings that cannot work stop the agent with a sentence; unknown tls keys warn")
    func problems() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        #expect(Self.failure(["-verify-incoming"])?.contains("need ca_file") == true)
        #expect(Self.failure(["-verify-server-hostname"])?.contains("need ca_file") == true)
        #expect(Self.failure(["-cert-file", "/c.pem"])?.contains("cert_file and key_file must be set together") == true)
        #expect(Self.failure(["-https-port", "8501"])?.contains("HTTPS port needs cert_file") == true)
        #expect(Self.failure(["-server", "-ca-file", "/ca.pem", "-verify-incoming"])?.contains("server port then speaks TLS only") == true)
        #expect(Self.failure(["-https-port", "x"])?.contains("-https-port") == true)
        let odd = try dir.write("odd.json", #"{"tls": {"defaults": {"tls_min_version": "TLSv1_0", "verify_incoming": "yes"}}}"#)
        #expect(Self.failure(["-config-file", odd])?.contains("\"tls.defaults.verify_incoming\" must be true or false") == true)
        let unknown = try dir.write("unknown.json", #"{"tls": {"defaults": {"tls_min_version": "TLSv1_0"}, "grpc": {"use_auto_cert": true}}}"#)
        #expect(try Self.config(["-config-file", unknown]).warnings.count == 2)
    }

    @Test("the files are read and checked at start: unreadable, a certificate of another CA, a key that does not match")
    func material() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let ca = try Certificates.createAuthority(commonName: "ca", days: 2)
        let other = try Certificates.createAuthority(commonName: "other", days: 2)
        let server = try Certificates.createLeaf(commonName: "server.dc1.consul", dnsNames: ["server.dc1.consul"], ipAddresses: [], days: 2, authority: ca)
        let foreign = try Certificates.createLeaf(commonName: "server.dc1.consul", dnsNames: ["server.dc1.consul"], ipAddresses: [], days: 2, authority: other)
        var s = TLSSettings()
        s.caFile = try dir.write("ca.pem", ca.certificatePEM)
        s.certFile = try dir.write("server.pem", server.certificatePEM)
        s.keyFile = try dir.write("server-key.pem", server.keyPEM)
        s.verifyIncoming = true
        s.verifyServerHostname = true
        let material = try TLSMaterial.load(s, server: true, httpsPort: 8501)
        #expect(material.rpcServer != nil && material.rpcRequired && material.rpcClient != nil && material.verifyServerHostname)
        #expect(material.https != nil && material.certificate?.matches(host: "server.dc1.consul") == true)
        // A client agent has no server port to serve.
        #expect(try TLSMaterial.load(s, server: false, httpsPort: nil).rpcServer == nil)

        var missing = s
        missing.caFile = dir.path + "/nope.pem"
        #expect(throws: AgentError.self) { try TLSMaterial.load(missing, server: true, httpsPort: nil) }
        var stranger = s
        stranger.certFile = try dir.write("foreign.pem", foreign.certificatePEM)
        stranger.keyFile = try dir.write("foreign-key.pem", foreign.keyPEM)
        do {
            _ = try TLSMaterial.load(stranger, server: true, httpsPort: nil)
            Issue.record("a certificate of another CA was accepted")
        } catch {
            #expect(error.description.contains("is not signed by the CA"))
        }
        var mismatched = s
        mismatched.keyFile = stranger.keyFile
        #expect(throws: AgentError.self) { try TLSMaterial.load(mismatched, server: true, httpsPort: nil) }
        #expect(try TLSMaterial.load(TLSSettings(), server: true, httpsPort: nil).rpcServer == nil)
    }
}

@Suite struct RPCPeerPolicyTests {
    typealias Identity = RPCPeer.Identity
    static func refusal(_ request: RPC.Request, hops: UInt8, _ identity: Identity, hostnames: Bool = true) -> String? {
        RPCPeerPolicy.refusal(of: RPC.Envelope(datacenter: "dc1", hops: hops, request: request), from: identity,
                              ownDatacenter: "dc1", verifyServerHostname: hostnames)
    }

    @Test("tunnels need a certificate, a second hop a server of another datacenter; relayed reads need a server with hostname verification")
    func rules() {
        let tunnel = RPC.Request.tunnel(service: "web")
        let read = RPC.Request.http(method: "GET", target: "/v1/catalog/services", body: [])
        #expect(Self.refusal(tunnel, hops: 1, .anonymous)?.contains("no certificate") == true)
        #expect(Self.refusal(tunnel, hops: 1, .agent) == nil)
        #expect(Self.refusal(tunnel, hops: 1, .server(datacenter: "dc2")) == nil)
        #expect(Self.refusal(tunnel, hops: 2, .agent)?.contains("server certificate") == true)
        // Our own datacenter's servers never send a second hop here.
        #expect(Self.refusal(tunnel, hops: 2, .server(datacenter: "dc1")) != nil)
        #expect(Self.refusal(tunnel, hops: 2, .server(datacenter: "dc2")) == nil)
        #expect(Self.refusal(read, hops: 1, .anonymous) == nil)
        #expect(Self.refusal(read, hops: 2, .agent)?.contains("not a server") == true)
        #expect(Self.refusal(read, hops: 2, .agent, hostnames: false) == nil)
        #expect(Self.refusal(read, hops: 2, .server(datacenter: "dc3")) == nil)
        #expect(Self.refusal(.datacenters, hops: 2, .anonymous) == nil)
    }

    @Test("a certificate makes a peer a server of a datacenter the WAN pool knows, else an agent")
    func identities() throws {
        let ca = try Certificates.createAuthority(commonName: "ca", days: 2)
        func peer(_ name: String) throws -> RPCPeer {
            let leaf = try Certificates.createLeaf(commonName: name, dnsNames: [name], ipAddresses: [], days: 2, authority: ca)
            return RPCPeer(endpoint: nil, certificate: try Certificate(pem: leaf.certificatePEM), secured: true)
        }
        #expect(try peer("server.dc2.consul").identity(datacenters: ["dc1", "dc2"], domain: "consul.") == .server(datacenter: "dc2"))
        #expect(try peer("server.dc9.consul").identity(datacenters: ["dc1", "dc2"], domain: "consul.") == .agent)
        #expect(try peer("client.dc2.consul").identity(datacenters: ["dc1", "dc2"], domain: "consul.") == .agent)
        #expect(try peer("server.dc2.example").identity(datacenters: ["dc2"], domain: "example.") == .server(datacenter: "dc2"))
        #expect(RPCPeer.plaintext(nil).identity(datacenters: ["dc1"], domain: "consul.") == .anonymous)
    }
}
