import COpenSSL

/// X.509 certificates and ECDSA P-256 keys from libcrypto, in PEM: the
/// agent's CA and the server and client certificates it signs (Consul's
/// `consul tls ca create` and `tls cert create`), and the checks TLS
/// peers are held to. Nothing is encoded or signed by hand.
public enum Certificates {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// A certificate and its private key, both PEM.
    public struct Issued: Sendable {
        public let certificatePEM: String
        public let keyPEM: String

        public init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// What a certificate is for.
    public enum Role: Sendable {
        /// A CA: signs certificates, nothing else.
        case authority
        /// A TLS server (and client: servers dial each other).
        case server
        /// A TLS client (and server, as Consul issues them).
        case client
    }

    /// A self-signed CA: ECDSA P-256, SHA-256, `CA:TRUE`, key usage
    /// certificate and CRL signing. `permittedDomains` become a critical
    /// name constraint (Consul's `-name-constraint`).
    public static func createAuthority(commonName: String, days: Int, permittedDomains: [String] = []) throws(Failure) -> Issued {
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        if !permittedDomains.isEmpty {
            extensions.append((NID_name_constraints, "critical," + permittedDomains.map { "permitted;DNS:\($0)" }.joined(separator: ",")))
        }
        return try issue(commonName: commonName, days: days, extensions: extensions, issuer: nil)
    }

    /// A leaf certificate signed by `authority`: ECDSA P-256, the given
    /// DNS and IP subject alternative names, key usage for TLS, extended
    /// key usage server and client authentication.
    public static func createLeaf(commonName: String, dnsNames: [String], ipAddresses: [String], days: Int,
                                  authority: Issued) throws(Failure) -> Issued {
        for name in dnsNames + ipAddresses where name.isEmpty || name.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 < 0x21 || $0 > 0x7e }) {
            throw Failure("invalid subject alternative name \"\(name)\"")
        }
        let sans = (dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }).joined(separator: ",")
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature,keyEncipherment,keyAgreement"),
            (NID_ext_key_usage, "serverAuth,clientAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        if !sans.isEmpty { extensions.append((NID_subject_alt_name, sans)) }
        return try issue(commonName: commonName, days: days, extensions: extensions, issuer: authority)
    }

    private static func issue(commonName: String, days: Int, extensions: [(Int32, String)], issuer: Issued?) throws(Failure) -> Issued {
        guard OpenSSL.ready else { throw Failure("libcrypto did not initialise") }
        guard (1...36_500).contains(days) else { throw Failure("days must be between 1 and 36500, not \(days)") }
        guard !commonName.isEmpty, commonName.utf8.count <= 64 else { throw Failure("a common name of 1 to 64 bytes is needed") }
        guard let key = copenssl_ec_p256_generate() else { throw Failure("could not generate an ECDSA P-256 key") }
        defer { EVP_PKEY_free(key) }
        guard let cert = X509_new() else { throw Failure("out of memory") }
        defer { X509_free(cert) }
        var issuerCert: OpaquePointer?
        var issuerKey: OpaquePointer?
        defer {
            X509_free(issuerCert)
            EVP_PKEY_free(issuerKey)
        }
        if let issuer {
            issuerCert = try parseCertificate(issuer.certificatePEM)
            issuerKey = try parseKey(issuer.keyPEM)
        }
        guard X509_set_version(cert, 2) == 1, try setRandomSerial(cert),
              X509_gmtime_adj(X509_getm_notBefore(cert), -60) != nil,
              X509_gmtime_adj(X509_getm_notAfter(cert), Int(days) * 86_400) != nil,
              X509_set_pubkey(cert, key) == 1,
              let subject = X509_get_subject_name(cert),
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
              X509_set_issuer_name(cert, issuerCert.map { X509_get_subject_name($0) } ?? subject) == 1 else {
            throw Failure("could not fill in the certificate")
        }
        for (nid, value) in extensions {
            guard copenssl_add_extension(cert, issuerCert ?? cert, nid, value) == 1 else {
                throw Failure("could not add extension \(nid) = \(value)")
            }
        }
        guard X509_sign(cert, issuerKey ?? key, EVP_sha256()) > 0 else { throw Failure("could not sign the certificate") }
        return Issued(certificatePEM: try pem { PEM_write_bio_X509($0, cert) },
                      keyPEM: try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) })
    }

    private static func setRandomSerial(_ cert: OpaquePointer) throws(Failure) -> Bool {
        // 128 random bits, positive (RFC 5280 allows up to 20 octets).
        guard var bytes = SecureRandom.bytes(16) else { throw Failure("no random bytes") }
        bytes[0] &= 0x7f
        guard let bn = BN_bin2bn(bytes, 16, nil) else { return false }
        defer { BN_free(bn) }
        guard let serial = BN_to_ASN1_INTEGER(bn, nil) else { return false }
        defer { ASN1_INTEGER_free(serial) }
        return X509_set_serialNumber(cert, serial) == 1
    }

    /// Runs `write` into a memory BIO and returns what it wrote.
    private static func pem(_ write: (OpaquePointer) -> Int32) throws(Failure) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Failure("out of memory") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Failure("could not write PEM") }
        var data: UnsafeMutablePointer<CChar>?
        let length = copenssl_bio_mem_data(bio, &data)
        guard length > 0, let data else { throw Failure("could not write PEM") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    private static func withBIO<T>(_ text: String, _ body: (OpaquePointer) -> T?) -> T? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    /// The first certificate of a PEM text; the caller frees it (`X509_free`).
    static func parseCertificate(_ pem: String) throws(Failure) -> OpaquePointer {
        guard let cert = withBIO(pem, { PEM_read_bio_X509($0, nil, nil, nil) }) else { throw Failure("not a PEM certificate") }
        return cert
    }

    /// A PEM private key (unencrypted); the caller frees it (`EVP_PKEY_free`).
    static func parseKey(_ pem: String) throws(Failure) -> OpaquePointer {
        guard let key = withBIO(pem, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else { throw Failure("not a PEM private key") }
        return key
    }
}

/// A parsed certificate, for the checks TLS peers are held to.
public final class Certificate: @unchecked Sendable {  // immutable once parsed
    let x509: OpaquePointer

    public init(pem: String) throws(Certificates.Failure) {
        x509 = try Certificates.parseCertificate(pem)
    }

    /// Takes ownership of a parsed certificate.
    init(x509: OpaquePointer) { self.x509 = x509 }

    deinit { X509_free(x509) }

    /// Whether a DNS subject alternative name matches `host` (no wildcards
    /// beyond one leading label, as RFC 6125).
    public func matches(host: String) -> Bool {
        X509_check_host(x509, host, host.utf8.count, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS), nil) == 1
    }

    /// Whether an IP subject alternative name is `ip` (text form).
    public func matches(ip: String) -> Bool { X509_check_ip_asc(x509, ip, 0) == 1 }

    /// Whether `authority`'s key signed this certificate.
    public func isSigned(by authority: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(authority.x509) else { return false }
        return X509_verify(x509, key) == 1
    }

    public var isAuthority: Bool { X509_check_ca(x509) >= 1 }

    /// Usable for a TLS server (`serverAuth`) and a TLS client (`clientAuth`).
    public var isServerAndClient: Bool {
        X509_check_purpose(x509, X509_PURPOSE_SSL_SERVER, 0) == 1 && X509_check_purpose(x509, X509_PURPOSE_SSL_CLIENT, 0) == 1
    }

    /// Whole days from now until the certificate expires (negative once it has).
    public var daysLeft: Int {
        var days: Int32 = 0, seconds: Int32 = 0
        guard ASN1_TIME_diff(&days, &seconds, nil, X509_get0_notAfter(x509)) == 1 else { return 0 }
        return Int(days)
    }

    public var commonName: String {
        guard let name = X509_get_subject_name(x509) else { return "" }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard n > 0 else { return "" }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
