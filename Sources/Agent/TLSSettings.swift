import Crypto
import Glibc
import Synchronization

/// Consul's TLS settings (`tls.defaults`, `tls.internal_rpc`, `tls.https`,
/// and the older top-level keys), as configured: files by path, flags.
public struct TLSSettings: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// `tls.defaults.verify_incoming`: clients must present a certificate of the CA.
    public var verifyIncoming = false
    /// `tls.defaults.verify_outgoing`: connections to servers use TLS and
    /// check the server's certificate chain.
    public var verifyOutgoing = false
    /// `tls.internal_rpc.verify_server_hostname`: a server must also prove
    /// `server.<dc>.<domain>`, so a client certificate cannot pose as one.
    public var verifyServerHostname = false
    /// `tls.internal_rpc.verify_incoming` and `tls.https.verify_incoming`
    /// (`verify_incoming_rpc`, `verify_incoming_https`): override the default.
    public var rpcVerifyIncoming: Bool?
    public var httpsVerifyIncoming: Bool?

    public init() {}

    public var isConfigured: Bool { caFile != nil || certFile != nil || keyFile != nil }
    /// Consul: hostname verification implies verifying what is dialled.
    public var effectiveVerifyOutgoing: Bool { verifyOutgoing || verifyServerHostname }
    public var effectiveRPCVerifyIncoming: Bool { rpcVerifyIncoming ?? verifyIncoming }
    public var effectiveHTTPSVerifyIncoming: Bool { httpsVerifyIncoming ?? verifyIncoming }

    /// What cannot work, said before the agent starts (nil when consistent).
    public func problem(server: Bool, httpsPort: UInt16?) -> String? {
        if (certFile == nil) != (keyFile == nil) { return "cert_file and key_file must be set together" }
        if effectiveRPCVerifyIncoming || effectiveHTTPSVerifyIncoming || effectiveVerifyOutgoing, caFile == nil {
            return "verify_incoming and verify_outgoing need ca_file: the CA that peers' certificates must chain to"
        }
        if server && effectiveRPCVerifyIncoming && certFile == nil {
            return "verify_incoming on a server needs cert_file and key_file: the server port then speaks TLS only"
        }
        if httpsPort != nil && certFile == nil { return "the HTTPS port needs cert_file and key_file" }
        return nil
    }
}

/// The TLS contexts an agent runs with, built once at start from
/// `TLSSettings` (files read then, before any loop runs).
public struct TLSMaterial: Sendable {
    /// The server port's side (servers with a certificate); nil: plaintext only.
    public let rpcServer: TLSContext?
    /// Whether the server port refuses plaintext and certificate-less peers.
    public let rpcRequired: Bool
    /// What this agent dials servers with (`verify_outgoing`); nil: plaintext.
    public let rpcClient: TLSContext?
    public let verifyServerHostname: Bool
    /// The HTTPS API's side (when an HTTPS port is set).
    public let https: TLSContext?
    /// The agent's own certificate, for `/v1/agent/self` and expiry warnings.
    public private(set) var certificate: Certificate?
    /// The files' contents, for the client side of HTTPS health checks.
    var pems: (ca: String?, cert: String?, key: String?) = (nil, nil, nil)

    public static let none = TLSMaterial(rpcServer: nil, rpcRequired: false, rpcClient: nil, verifyServerHostname: false,
                                         https: nil, certificate: nil)

    init(rpcServer: TLSContext?, rpcRequired: Bool, rpcClient: TLSContext?, verifyServerHostname: Bool,
         https: TLSContext?, certificate: Certificate?) {
        self.rpcServer = rpcServer
        self.rpcRequired = rpcRequired
        self.rpcClient = rpcClient
        self.verifyServerHostname = verifyServerHostname
        self.https = https
        self.certificate = certificate
    }

    /// What HTTPS health checks connect with: the agent's CA (the system's
    /// without one) and its certificate as a client certificate, as
    /// Consul's checks use the agent's TLS configuration; `skipVerify` for
    /// a check's `TLSSkipVerify`.
    public func checkClientContext(skipVerify: Bool) -> TLSContext? {
        try? TLSContext(role: .client, certificatePEM: pems.cert, keyPEM: pems.key, authorityPEM: pems.ca, verifyPeer: !skipVerify)
    }

    /// Those contexts, each built the first time an HTTPS check asks for
    /// it (off the loop): the verifying one reads the system's CA bundle,
    /// 1.4 MB an agent without HTTPS checks need not hold.
    public func lazyCheckClients() -> @Sendable (_ skipVerify: Bool) -> TLSContext? {
        let built = LazyContexts(self)
        return { skipVerify in built.context(skipVerify: skipVerify) }
    }

    /// A reload: `new`'s certificates, keys and CA move into these
    /// contexts (connections opened from now on use them) when TLS is on
    /// and off in the same places; false, and nothing changes, otherwise
    /// (that needs a restart).
    public mutating func adopt(_ new: TLSMaterial) -> Bool {
        func sameShape(_ a: TLSContext?, _ b: TLSContext?) -> Bool { (a == nil) == (b == nil) }
        guard sameShape(rpcServer, new.rpcServer), sameShape(rpcClient, new.rpcClient), sameShape(https, new.https),
              rpcRequired == new.rpcRequired, verifyServerHostname == new.verifyServerHostname else { return false }
        for (old, fresh) in [(rpcServer, new.rpcServer), (rpcClient, new.rpcClient), (https, new.https)] {
            if let old, let fresh { old.adopt(fresh) }
        }
        certificate = new.certificate
        pems = new.pems
        return true
    }

    /// Reads the files and builds the contexts; errors name the file and why.
    public static func load(_ s: TLSSettings, server: Bool, httpsPort: UInt16?) throws(AgentError) -> TLSMaterial {
        guard s.isConfigured || httpsPort != nil else { return .none }
        if let problem = s.problem(server: server, httpsPort: httpsPort) { throw AgentError("tls: \(problem)") }
        func read(_ path: String?, _ what: String) throws(AgentError) -> String? {
            guard let path else { return nil }
            guard let bytes = DataFile.read(path, limit: 1 << 20) else {
                throw AgentError("tls: cannot read \(what) \(path): \(String(cString: strerror(errno))) (or larger than 1 MiB)")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let ca = try read(s.caFile, "ca_file")
        let cert = try read(s.certFile, "cert_file")
        let key = try read(s.keyFile, "key_file")
        var certificate: Certificate?
        do {
            if let cert { certificate = try Certificate(pem: cert) }
            if let ca, let certificate, !certificate.isSigned(by: try Certificate(pem: ca)) {
                throw AgentError("tls: \(s.certFile ?? "cert_file") is not signed by the CA in \(s.caFile ?? "ca_file")")
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError("tls: \(error)")
        }
        do {
            // Servers ask every client for a certificate even when not
            // required: tunnels are opened only for peers that prove one.
            let rpcServer = server && cert != nil
                ? try TLSContext(role: .server, certificatePEM: cert, keyPEM: key, authorityPEM: ca,
                                 verifyPeer: s.effectiveRPCVerifyIncoming, askPeer: ca != nil) : nil
            let rpcClient = s.effectiveVerifyOutgoing
                ? try TLSContext(role: .client, certificatePEM: cert, keyPEM: key, authorityPEM: ca, verifyPeer: true) : nil
            let https = httpsPort != nil
                ? try TLSContext(role: .server, certificatePEM: cert, keyPEM: key, authorityPEM: ca,
                                 verifyPeer: s.effectiveHTTPSVerifyIncoming) : nil
            var material = TLSMaterial(rpcServer: rpcServer, rpcRequired: s.effectiveRPCVerifyIncoming, rpcClient: rpcClient,
                                       verifyServerHostname: s.verifyServerHostname, https: https, certificate: certificate)
            material.pems = (ca, cert, key)
            return material
        } catch {
            throw AgentError("tls: \(error.description)")
        }
    }
}

private final class LazyContexts: Sendable {
    private let material: TLSMaterial
    private let contexts = Mutex<[Bool: TLSContext]>([:])

    init(_ material: TLSMaterial) { self.material = material }

    func context(skipVerify: Bool) -> TLSContext? {
        contexts.withLock { built in
            if let c = built[skipVerify] { return c }
            let c = material.checkClientContext(skipVerify: skipVerify)
            built[skipVerify] = c
            return c
        }
    }
}
