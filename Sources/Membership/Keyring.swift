import Crypto
import Sockets

/// The gossip keys of one pool, Consul's keyring: the primary key (first)
/// seals every message sent; every key opens. A pure value; the pool
/// replicates it (see `GossipPool+Keyring`).
///
/// `version` orders rings for replication: a ring with a higher version
/// replaces a lower one in encrypted push/pull, so a member that missed a
/// rotation learns it (and a removed key cannot come back from a member
/// that missed the removal). A change takes a version of at least the
/// wall clock in milliseconds, so versions rise across restarts.
public struct Keyring: Sendable, Equatable {
    public private(set) var keys: [AESGCM.Key]
    public private(set) var version: UInt64
    /// More keys than a rotation ever needs; a bound on what peers can send.
    public static let capacity = 16

    public var primary: AESGCM.Key { keys[0] }

    /// Nil for an empty list or one over `capacity`; duplicates are dropped.
    public init?(keys: [AESGCM.Key], version: UInt64 = 0) {
        var unique: [AESGCM.Key] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        guard !unique.isEmpty, unique.count <= Self.capacity else { return nil }
        self.keys = unique
        self.version = version
    }

    public enum Operation: Sendable, Equatable {
        case install(AESGCM.Key)
        case use(AESGCM.Key)
        case remove(AESGCM.Key)
    }

    /// The ring after `operation`, with `version` (memberlist's rules and
    /// error texts): installing a present key and removing an absent one
    /// change nothing; `use` needs the key installed; the primary key
    /// cannot be removed.
    public func applying(_ operation: Operation, version: UInt64) -> Result<Keyring, KeyringError> {
        var next = self
        switch operation {
        case .install(let key):
            guard !keys.contains(key) else { break }
            guard keys.count < Self.capacity else { return .failure(KeyringError("keyring is full (\(Self.capacity) keys): remove one first")) }
            next.keys.append(key)
        case .use(let key):
            guard let i = keys.firstIndex(of: key) else { return .failure(KeyringError("Requested key is not in the keyring")) }
            next.keys.remove(at: i)
            next.keys.insert(key, at: 0)
        case .remove(let key):
            guard key != primary else { return .failure(KeyringError("Removing the primary key is not allowed")) }
            next.keys.removeAll { $0 == key }
        }
        next.version = max(version, self.version)
        return .success(next)
    }

    /// Whether `other` replaces this ring in replication: a higher
    /// version, or the same version with other keys that sort higher
    /// (so any two members settle on the same ring).
    public func isSuperseded(by other: Keyring) -> Bool {
        if other.version != version { return other.version > version }
        return other.keys != keys && other.encodedKeys.lexicographicallyPrecedes(encodedKeys) == false
    }

    private var encodedKeys: [UInt8] { keys.flatMap { [UInt8($0.bytes.count)] + $0.bytes } }

    // MARK: Text forms

    /// A key as Consul writes it: base64 of 16, 24 or 32 bytes.
    public static func parseKey(_ text: String) -> Result<AESGCM.Key, KeyringError> {
        guard let bytes = Base64.decode(text) else { return .failure(KeyringError("key is not valid base64 (standard alphabet, padded)")) }
        guard let key = AESGCM.Key(bytes) else {
            return .failure(KeyringError("key must be 16, 24 or 32 bytes, not \(bytes.count) (fedagent keygen makes one)"))
        }
        return .success(key)
    }

    public static func text(_ key: AESGCM.Key) -> String { Base64.encode(key.bytes) }

    // MARK: Wire form (inside sealed streams only)

    func encode(into w: inout ByteWriter) {
        w.u64(version)
        w.u8(UInt8(keys.count))
        for key in keys {
            w.u8(UInt8(key.bytes.count))
            w.bytes.append(contentsOf: key.bytes)
        }
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> Keyring {
        let version = try r.u64()
        let count = Int(try r.u8())
        guard count >= 1, count <= capacity else { throw .invalid("keyring of \(count) keys") }
        var keys: [AESGCM.Key] = []
        for _ in 0..<count {
            let length = Int(try r.u8())
            guard let key = AESGCM.Key(try r.take(length)) else { throw .invalid("key of \(length) bytes") }
            keys.append(key)
        }
        guard let ring = Keyring(keys: keys, version: version) else { throw .invalid("duplicate keys") }
        return ring
    }
}

public struct KeyringError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How a pool treats gossip on the wire (Consul's `encrypt`,
/// `encrypt_verify_incoming`, `encrypt_verify_outgoing`). Without a
/// keyring everything is plaintext. With one, `verifyOutgoing` off sends
/// plaintext and `verifyIncoming` off also accepts plaintext: the two
/// middle steps of moving a running pool to encryption.
public struct GossipEncryption: Sendable, Equatable {
    public var keyring: Keyring?
    public var verifyIncoming: Bool
    public var verifyOutgoing: Bool

    public init(keyring: Keyring?, verifyIncoming: Bool = true, verifyOutgoing: Bool = true) {
        self.keyring = keyring
        self.verifyIncoming = verifyIncoming
        self.verifyOutgoing = verifyOutgoing
    }

    public static let off = GossipEncryption(keyring: nil)

    public var isOn: Bool { keyring != nil }
    /// The key that seals what we send, if we seal at all.
    var sealingKey: AESGCM.Key? { verifyOutgoing ? keyring?.primary : nil }
    /// Whether plaintext from a peer is accepted.
    var acceptsPlaintext: Bool { keyring == nil || !verifyIncoming }
}
