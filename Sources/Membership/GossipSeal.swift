import Crypto
import Sockets

/// The outer layer of every gossip datagram and push/pull frame, told
/// apart by the first byte (ONLY APPEND new values):
///
///     1  plaintext: the SWIM packet or push/pull payload itself
///     2  sealed: AES-GCM under a keyring key, memberlist's layout:
///        `2 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, the version byte as
///        additional data; a fresh random nonce per message
///     3  refusal (streams only): `3 ‖ UTF-8 reason`, the answer to a
///        stream this pool cannot accept, so the other side can say why
///
/// A sealed datagram holds a plaintext SWIM packet; a sealed stream holds
/// a `StreamMessage`. Pure functions; the pool calls them.
enum GossipSeal {
    static let sealedVersion: UInt8 = 2
    static let refusalVersion: UInt8 = 3
    /// Bytes sealing adds to a message.
    static let overhead = 1 + AESGCM.overhead

    static func seal(_ plaintext: [UInt8], key: AESGCM.Key) -> [UInt8]? {
        guard let sealed = AESGCM.seal(plaintext, key: key, aad: [sealedVersion]) else { return nil }
        return [sealedVersion] + sealed
    }

    enum Refusal: Equatable, Sendable {
        case plaintextRefused
        case noKeyring
        case noKeyOpens
        case unknownVersion(UInt8)

        var text: String {
            switch self {
            case .plaintextRefused: "plaintext gossip refused: this agent requires encryption (its encrypt key)"
            case .noKeyring: "encrypted gossip refused: this agent has no encrypt key"
            case .noKeyOpens: "no installed key opens it: a wrong encrypt key, or the keyring was rotated while one side was away"
            case .unknownVersion(let v): "unknown gossip version \(v)"
            }
        }

        /// A short label for stats and rate-limited logs.
        var label: String {
            switch self {
            case .plaintextRefused: "plaintext"
            case .noKeyring: "encrypted_without_key"
            case .noKeyOpens: "wrong_key"
            case .unknownVersion: "unknown_version"
            }
        }
    }

    enum Opened: Equatable {
        case plaintext([UInt8])
        /// Opened by `key` (answers go back under the same key).
        case sealed([UInt8], key: AESGCM.Key)
        case refused(Refusal)
    }

    /// What a received datagram or frame holds, by `encryption`'s rules.
    static func open(_ bytes: [UInt8], _ encryption: GossipEncryption) -> Opened {
        guard let first = bytes.first else { return .refused(.unknownVersion(0)) }
        switch first {
        case SWIM.wireVersion:
            return encryption.acceptsPlaintext ? .plaintext(bytes) : .refused(.plaintextRefused)
        case sealedVersion:
            guard let ring = encryption.keyring else { return .refused(.noKeyring) }
            for key in ring.keys {
                if let plaintext = AESGCM.open(bytes.dropFirst(), key: key, aad: [sealedVersion]) { return .sealed(plaintext, key: key) }
            }
            return .refused(.noKeyOpens)
        default:
            return .refused(.unknownVersion(first))
        }
    }

    /// A refusal frame's payload.
    static func refusal(_ text: String) -> [UInt8] { [refusalVersion] + Array(text.utf8.prefix(512)) }
}

/// What a sealed push/pull stream carries (the plaintext inside
/// `GossipSeal`), by its first byte. ONLY APPEND new kinds.
enum StreamMessage: Equatable {
    /// A push/pull exchange, with the sender's keyring for replication.
    case pushPull(ring: Keyring, payload: [UInt8])
    /// A keyring operation (or a plain list) from a member.
    case keyringRequest(KeyringRequest)
    /// The answering member's ring after the request, or why it refused.
    case keyringAnswer(ring: Keyring, error: String)

    struct KeyringRequest: Equatable {
        /// Nil for a list.
        var operation: Keyring.Operation?
        var version: UInt64
    }

    private enum Kind: UInt8 { case pushPull = 1, keyringRequest, keyringAnswer }
    private enum Op: UInt8 { case list = 0, install, use, remove }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .pushPull(let ring, let payload):
            w.u8(Kind.pushPull.rawValue)
            ring.encode(into: &w)
            w.bytes.append(contentsOf: payload)
        case .keyringRequest(let request):
            w.u8(Kind.keyringRequest.rawValue)
            w.u64(request.version)
            switch request.operation {
            case nil: w.u8(Op.list.rawValue)
            case .install(let key)?: w.u8(Op.install.rawValue); w.u8(UInt8(key.bytes.count)); w.bytes += key.bytes
            case .use(let key)?: w.u8(Op.use.rawValue); w.u8(UInt8(key.bytes.count)); w.bytes += key.bytes
            case .remove(let key)?: w.u8(Op.remove.rawValue); w.u8(UInt8(key.bytes.count)); w.bytes += key.bytes
            }
        case .keyringAnswer(let ring, let error):
            w.u8(Kind.keyringAnswer.rawValue)
            ring.encode(into: &w)
            w.string16(String(error.prefix(1024)))
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> StreamMessage {
        var r = ByteReader(bytes)
        guard let kind = Kind(rawValue: try r.u8()) else { throw .invalid("unknown stream message") }
        switch kind {
        case .pushPull:
            let ring = try Keyring.decode(from: &r)
            return .pushPull(ring: ring, payload: try r.take(r.remaining))
        case .keyringRequest:
            let version = try r.u64()
            guard let op = Op(rawValue: try r.u8()) else { throw .invalid("unknown keyring operation") }
            var operation: Keyring.Operation?
            if op != .list {
                let length = Int(try r.u8())
                guard let key = AESGCM.Key(try r.take(length)) else { throw .invalid("key of \(length) bytes") }
                operation = op == .install ? .install(key) : op == .use ? .use(key) : .remove(key)
            }
            guard r.isAtEnd else { throw .invalid("trailing bytes after keyring request") }
            return .keyringRequest(KeyringRequest(operation: operation, version: version))
        case .keyringAnswer:
            let ring = try Keyring.decode(from: &r)
            let error = try r.string16()
            guard r.isAtEnd else { throw .invalid("trailing bytes after keyring answer") }
            return .keyringAnswer(ring: ring, error: error)
        }
    }
}
