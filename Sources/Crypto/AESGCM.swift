import COpenSSL

/// AES-GCM (NIST SP 800-38D) from the system's libcrypto: nothing of the
/// cipher is written here, only the calls. A sealed message is
/// `nonce (12) ‖ ciphertext ‖ tag (16)`; the additional data is
/// authenticated but not carried.
public enum AESGCM {
    public static let nonceSize = 12
    public static let tagSize = 16
    /// Bytes a sealed message adds to its plaintext.
    public static let overhead = nonceSize + tagSize

    /// An AES key: 16, 24 or 32 bytes (AES-128, -192, -256).
    public struct Key: Sendable, Hashable {
        public let bytes: [UInt8]

        public init?(_ bytes: [UInt8]) {
            guard [16, 24, 32].contains(bytes.count) else { return nil }
            self.bytes = bytes
        }

        fileprivate var cipher: OpaquePointer? {
            switch bytes.count {
            case 16: EVP_aes_128_gcm()
            case 24: EVP_aes_192_gcm()
            default: EVP_aes_256_gcm()
            }
        }
    }

    /// Seals `plaintext` under `key` with a fresh random nonce; nil only if
    /// libcrypto fails (no randomness), and then nothing may be sent.
    public static func seal(_ plaintext: [UInt8], key: Key, aad: [UInt8] = []) -> [UInt8]? {
        guard let nonce = SecureRandom.bytes(nonceSize) else { return nil }
        return seal(plaintext, key: key, nonce: nonce, aad: aad)
    }

    /// Seals with the given nonce. A nonce MUST NOT repeat under one key:
    /// only tests pass their own.
    public static func seal(_ plaintext: [UInt8], key: Key, nonce: [UInt8], aad: [UInt8] = []) -> [UInt8]? {
        guard nonce.count == nonceSize, OpenSSL.ready, let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: nonceSize + plaintext.count + tagSize)
        let ok = out.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            for i in 0..<nonceSize { base[i] = nonce[i] }
            guard EVP_EncryptInit_ex(ctx, key.cipher, nil, nil, nil) == 1,
                  EVP_CIPHER_CTX_ctrl(ctx, copenssl_gcm_set_ivlen(), Int32(nonceSize), nil) == 1,
                  EVP_EncryptInit_ex(ctx, nil, nil, key.bytes, base) == 1 else { return false }
            var n: Int32 = 0
            if !aad.isEmpty, EVP_EncryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) != 1 { return false }
            var written = 0
            if !plaintext.isEmpty {
                guard EVP_EncryptUpdate(ctx, base + nonceSize, &n, plaintext, Int32(plaintext.count)) == 1 else { return false }
                written = Int(n)
            }
            guard EVP_EncryptFinal_ex(ctx, base + nonceSize + written, &n) == 1 else { return false }
            return EVP_CIPHER_CTX_ctrl(ctx, copenssl_gcm_get_tag(), Int32(tagSize), base + nonceSize + plaintext.count) == 1
        }
        return ok ? out : nil
    }

    /// Opens a sealed message; nil if it is too short, was sealed under
    /// another key or additional data, or was changed in any byte.
    public static func open(_ sealed: ArraySlice<UInt8>, key: Key, aad: [UInt8] = []) -> [UInt8]? {
        guard sealed.count >= overhead, sealed.count - overhead <= Int(Int32.max), OpenSSL.ready,
              let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let length = sealed.count - overhead
        var out = [UInt8](repeating: 0, count: length)
        let ok = sealed.withUnsafeBufferPointer { input -> Bool in
            guard let base = input.baseAddress else { return false }
            guard EVP_DecryptInit_ex(ctx, key.cipher, nil, nil, nil) == 1,
                  EVP_CIPHER_CTX_ctrl(ctx, copenssl_gcm_set_ivlen(), Int32(nonceSize), nil) == 1,
                  EVP_DecryptInit_ex(ctx, nil, nil, key.bytes, base) == 1 else { return false }
            var n: Int32 = 0
            if !aad.isEmpty, EVP_DecryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) != 1 { return false }
            var written = 0
            if length > 0 {
                let ok = out.withUnsafeMutableBufferPointer { o in
                    EVP_DecryptUpdate(ctx, o.baseAddress, &n, base + nonceSize, Int32(length)) == 1
                }
                guard ok else { return false }
                written = Int(n)
            }
            // The tag is an input here; libcrypto does not write through it.
            let tag = UnsafeMutableRawPointer(mutating: base + nonceSize + length)
            guard EVP_CIPHER_CTX_ctrl(ctx, copenssl_gcm_set_tag(), Int32(tagSize), tag) == 1 else { return false }
            var tail = [UInt8](repeating: 0, count: 16)
            return EVP_DecryptFinal_ex(ctx, &tail, &n) == 1 && written + Int(n) == length
        }
        return ok ? out : nil
    }
}

/// Random bytes from libcrypto's CSPRNG (seeded by the kernel's getrandom).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8]? {
        guard count > 0 else { return [] }
        guard OpenSSL.ready else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        return RAND_bytes(&out, Int32(count)) == 1 ? out : nil
    }
}

enum OpenSSL {
    /// Initialised once, without reading openssl.cnf: no file I/O on first
    /// use (an event loop may be the first caller), and the same behaviour
    /// in a scratch image that has no configuration at all.
    static let ready: Bool = OPENSSL_init_crypto(copenssl_init_no_config(), nil) == 1
}
