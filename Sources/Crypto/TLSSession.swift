import COpenSSL
import Synchronization
import Sockets

public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }

    /// libssl's error queue (and the peer verification result) as text; clears the queue.
    static func fromQueue(_ what: String, ssl: OpaquePointer? = nil) -> TLSError {
        var parts: [String] = []
        if let ssl {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) { parts.append("certificate: \(String(cString: text))") }
        }
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(parts.isEmpty ? what : "\(what): \(parts.joined(separator: "; "))")
    }
}

/// One side's TLS settings (libssl's `SSL_CTX`): TLS 1.2 or 1.3 only,
/// forward-secret AEAD suites only, no renegotiation or compression; a
/// certificate and key; the CA that peers must chain to.
public final class TLSContext: @unchecked Sendable {
    // libssl allows one SSL_CTX to serve many threads; a reload swaps in
    // another (`adopt`), and sessions already made keep their own reference.
    private let current: Mutex<Handle>
    /// The SSL_CTX pointer, handed between threads only under the mutex.
    private struct Handle: @unchecked Sendable { var ctx: OpaquePointer }
    public enum Role: Sendable { case server, client }
    public let role: Role

    /// `verifyPeer`: the peer must present a certificate of `authorityPEM`
    /// (a client certificate for a server; for a client, the server's,
    /// which only `CONSUL_HTTP_SSL_VERIFY=false` turns off).
    /// `askPeer` (servers, without `verifyPeer`): a client certificate is
    /// asked for and checked if one is sent, but a client may send none.
    public init(role: Role, certificatePEM: String?, keyPEM: String?, authorityPEM: String?, verifyPeer: Bool,
                askPeer: Bool = false) throws(TLSError) {
        guard OpenSSL.ready, let ctx = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.fromQueue("cannot create a TLS context")
        }
        current = Mutex(Handle(ctx: ctx))
        self.role = role
        guard copenssl_ctx_set_min_tls12(ctx) == 1,
              SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1 else {
            throw TLSError.fromQueue("cannot restrict TLS versions and ciphers")
        }
        _ = copenssl_ctx_options(ctx)
        if let certificatePEM, let keyPEM {
            do {
                let cert = try Certificates.parseCertificate(certificatePEM)
                defer { X509_free(cert) }
                let key = try Certificates.parseKey(keyPEM)
                defer { EVP_PKEY_free(key) }
                guard SSL_CTX_use_certificate(ctx, cert) == 1, SSL_CTX_use_PrivateKey(ctx, key) == 1,
                      SSL_CTX_check_private_key(ctx) == 1 else {
                    throw TLSError.fromQueue("the certificate and key do not go together")
                }
            } catch let error as Certificates.Failure {
                throw TLSError(error.description)
            } catch {
                throw error as? TLSError ?? TLSError("\(error)")
            }
        }
        if let authorityPEM {
            guard let store = SSL_CTX_get_cert_store(ctx) else { throw TLSError("no certificate store") }
            do {
                let ca = try Certificates.parseCertificate(authorityPEM)
                defer { X509_free(ca) }
                guard X509_STORE_add_cert(store, ca) == 1 else { throw TLSError.fromQueue("cannot trust the CA") }
            } catch let error as Certificates.Failure {
                throw TLSError("CA: \(error.description)")
            } catch {
                throw error as? TLSError ?? TLSError("\(error)")
            }
        }
        // A client without a CA of its own trusts the system's (an HTTPS
        // API behind a public certificate).
        if role == .client && authorityPEM == nil && verifyPeer { _ = SSL_CTX_set_default_verify_paths(ctx) }
        let mode = verifyPeer ? copenssl_verify_peer_flags() : askPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE
        SSL_CTX_set_verify(ctx, mode, nil)
    }

    deinit { current.withLock { SSL_CTX_free($0.ctx) } }

    /// Takes `other`'s settings (a reload's new certificate, key or CA):
    /// sessions made from now on use them, those open keep theirs.
    public func adopt(_ other: TLSContext) {
        guard other !== self else { return }
        let next = other.current.withLock { handle in
            SSL_CTX_up_ref(handle.ctx)
            return handle
        }
        current.withLock { handle in
            SSL_CTX_free(handle.ctx)
            handle = next
        }
    }

    /// A new SSL object of the current settings (it holds its own reference).
    func makeSSL() -> OpaquePointer? {
        let made: Handle? = current.withLock { handle in SSL_new(handle.ctx).map { Handle(ctx: $0) } }
        return made?.ctx
    }
}

/// One TLS connection as a state machine over memory (swift-nio-ssl's
/// way): the shell feeds it the bytes the socket read and sends what it
/// has to send; a handshake, a read that needs more bytes and a write
/// before the handshake are states here, never blocking calls.
/// Not thread-safe: one event loop owns it.
public final class TLSSession {
    private let ssl: OpaquePointer
    private let input: OpaquePointer   // network → libssl
    private let output: OpaquePointer  // libssl → network
    private var pending: [UInt8] = []  // plaintext written before the handshake finished
    public private(set) var isEstablished = false
    public private(set) var failure: TLSError?
    public private(set) var peerClosed = false

    /// `hostname`: for a client, the name the server's certificate must
    /// carry (and the SNI sent).
    public init(context: TLSContext, hostname: String? = nil) throws(TLSError) {
        guard let ssl = context.makeSSL(), let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            throw TLSError.fromQueue("cannot create a TLS session")
        }
        self.ssl = ssl
        self.input = input
        self.output = output
        SSL_set_bio(ssl, input, output)  // the session owns both BIOs now
        if context.role == .server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let hostname {
                // An address is checked against the IP names (and sent no SNI: RFC 6066 has none for literals).
                let isAddress = hostname.contains(":") || hostname.split(separator: ".").count == 4 && hostname.allSatisfy { $0.isNumber || $0 == "." }
                let ok = isAddress ? copenssl_set_verify_ip(ssl, hostname) == 1
                                   : SSL_set1_host(ssl, hostname) == 1 && copenssl_set_sni(ssl, hostname) == 1
                guard ok else { throw TLSError.fromQueue("invalid host name \(hostname)") }
            }
            advanceHandshake()  // the ClientHello
        }
    }

    deinit { SSL_free(ssl) }

    /// What the application gets from bytes the socket read.
    public enum Output: Equatable {
        case established
        case plaintext([UInt8])
        /// The peer sent close_notify.
        case closed
        case failed(String)
    }

    /// Feeds ciphertext from the network; gives what it produced (send
    /// `takeOutgoing()` afterwards: a handshake answers). The array-shaped
    /// form of `absorb` and `readPlaintext`, for blocking callers and tests.
    public func receive(_ bytes: UnsafeRawBufferPointer) -> [Output] {
        guard failure == nil, !peerClosed else { return [] }
        let wasEstablished = isEstablished
        guard absorb(bytes) else { return [.failed(failure?.description ?? "TLS failed")] }
        guard isEstablished else { return [] }
        var out: [Output] = wasEstablished ? [] : [.established]
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            switch buffer.withUnsafeMutableBytes({ readPlaintext(into: $0) }) {
            case .bytes(let n): out.append(.plaintext(Array(buffer[0..<n])))
            case .needMore: return out
            case .closed: return out + [.closed]
            case .failed: return out + [.failed(failure?.description ?? "TLS read failed")]
            }
        }
    }

    /// Encrypts `plaintext` for sending (held until the handshake is done).
    public func send(_ plaintext: [UInt8]) {
        guard failure == nil, !plaintext.isEmpty else { return }
        guard isEstablished else {
            pending += plaintext
            return
        }
        write(plaintext)
    }

    private func write(_ plaintext: [UInt8]) {
        let n = plaintext.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        // Memory BIOs grow, so a write either takes everything or fails.
        if n != Int32(plaintext.count) { failure = TLSError.fromQueue("TLS write failed", ssl: ssl) }
    }

    /// Ciphertext waiting to go to the network (handshake records
    /// included); drained by the call.
    public func takeOutgoing() -> [UInt8] {
        let count = Int(BIO_ctrl_pending(output))
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32(count)) }
        return n > 0 ? Array(out.prefix(Int(n))) : []
    }

    /// Starts a clean shutdown (close_notify); send `takeOutgoing()` then close.
    public func close() {
        guard isEstablished, failure == nil else { return }
        _ = SSL_shutdown(ssl)
    }

    /// The certificate the peer proved it holds (after the handshake).
    public var peerCertificate: Certificate? {
        guard isEstablished, let x509 = copenssl_peer_certificate(ssl) else { return nil }
        return Certificate(owning: x509)
    }

    /// "TLSv1.3" and the like, after the handshake.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    private func advanceHandshake() {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            isEstablished = true
            let held = pending
            pending = []
            if !held.isEmpty { write(held) }
            return
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return
        default: failure = TLSError.fromQueue("TLS handshake failed", ssl: ssl)
        }
    }

}

extension Certificate {
    convenience init(owning x509: OpaquePointer) { self.init(x509: x509) }
}

/// The layer a `TCPConnection` runs (`secure(with:)`): the same session,
/// driven through caller-owned buffers so relayed bytes are never copied
/// into fresh arrays.
extension TLSSession: StreamSecurity {
    public var failureText: String? { failure?.description }

    public func absorb(_ ciphertext: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        if !ciphertext.isEmpty, BIO_write(input, ciphertext.baseAddress, Int32(ciphertext.count)) != Int32(ciphertext.count) {
            failure = TLSError.fromQueue("cannot buffer received bytes")
            return false
        }
        if !isEstablished { advanceHandshake() }
        return failure == nil
    }

    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> SecureRead {
        guard failure == nil else { return .failed }
        guard isEstablished else { return .needMore }
        guard !peerClosed else { return .closed }
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, 1 << 30)))
        if n > 0 { return .bytes(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ: return .needMore
        case SSL_ERROR_ZERO_RETURN:
            peerClosed = true
            return .closed
        default:
            failure = TLSError.fromQueue("TLS read failed", ssl: ssl)
            return .failed
        }
    }

    public var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || BIO_ctrl_pending(input) > 0 }

    public func seal(_ plaintext: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil, isEstablished else { return false }
        guard !plaintext.isEmpty else { return true }
        // Memory BIOs grow, so a write either takes everything or fails.
        if SSL_write(ssl, plaintext.baseAddress, Int32(plaintext.count)) != Int32(plaintext.count) {
            failure = TLSError.fromQueue("TLS write failed", ssl: ssl)
        }
        return failure == nil
    }

    public var pendingCiphertext: Int { Int(BIO_ctrl_pending(output)) }

    public func takeCiphertext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let n = BIO_read(output, buffer.baseAddress, Int32(min(buffer.count, pendingCiphertext)))
        return max(0, Int(n))
    }

    public func beginClose() { close() }
}
