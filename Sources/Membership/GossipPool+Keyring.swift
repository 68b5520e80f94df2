import Crypto
import Sockets

/// Keyring operations across the pool (Consul's `keyring -install/-use/
/// -remove/-list`): the operation is applied here, then sent over a sealed
/// stream to every live member, each of which applies it and answers with
/// its ring; the report counts how many members hold each key. Members
/// that miss it (down, unreachable) learn the newer ring from the next
/// encrypted push/pull with any member that still shares a key with them.
extension GossipPool {
    /// Consul's keyring response for one pool.
    public struct KeyringReport: Sendable, Equatable {
        /// Members asked, this one included.
        public var numNodes = 0

        public init(numNodes: Int = 0) { self.numNodes = numNodes }
        /// Base64 key → members that hold it.
        public var keys: [String: Int] = [:]
        /// Base64 key → members that use it as their primary.
        public var primaryKeys: [String: Int] = [:]
        /// Member name → why it did not take part.
        public var messages: [String: String] = [:]

        public mutating func count(_ ring: Keyring) {
            for key in ring.keys { keys[Keyring.text(key), default: 0] += 1 }
            primaryKeys[Keyring.text(ring.primary), default: 0] += 1
        }
    }

    /// Streams open at once during a keyring operation.
    static let keyringFanOut = 16

    /// Applies `operation` (nil: list only) here and on every live member.
    /// `version` orders the change (the wall clock in milliseconds).
    public func keyring(_ operation: Keyring.Operation?, version: UInt64,
                        completion: @escaping (Result<KeyringReport, KeyringError>) -> Void) {
        guard let before = encryption.keyring else {
            return completion(.failure(KeyringError("gossip encryption is not enabled on this agent (no encrypt key)")))
        }
        var request = StreamMessage.KeyringRequest(operation: operation, version: before.version)
        if let operation {
            switch before.applying(operation, version: max(version, before.version + 1)) {
            case .failure(let error): return completion(.failure(error))
            case .success(let after):
                request.version = after.version
                if after != before { setKeyring(after) }
            }
        }
        var report = KeyringReport(numNodes: 1)
        if let ring = encryption.keyring { report.count(ring) }
        // Sealed under the primary key from before the change: every
        // member that is up to date holds it.
        let key = before.primary
        var queue = members.filter { $0.name != instance.name && ($0.status == .alive || $0.status == .suspect) }
        report.numNodes += queue.count
        var running = 0
        func next() {
            while running < Self.keyringFanOut, let member = queue.popLast() {
                running += 1
                ask(member, request, key: key) { result in
                    switch result {
                    case .success(let ring): report.count(ring)
                    case .failure(let error): report.messages[member.name] = error.description
                    }
                    running -= 1
                    next()
                }
            }
            if running == 0 && queue.isEmpty { completion(.success(report)) }
        }
        next()
    }

    private func ask(_ member: SWIM.Member, _ request: StreamMessage.KeyringRequest, key: AESGCM.Key,
                     done: @escaping (Result<Keyring, KeyringError>) -> Void) {
        var answered: Result<Keyring, KeyringError>?
        self.request(member.address, { [weak self] in self?.sealedStream(.keyringRequest(request), key: key) }, answer: { [weak self] frame in
            guard let self else { return "the pool shut down" }
            switch openStream(frame) {
            case .message(.keyringAnswer(let ring, let error), _):
                answered = error.isEmpty ? .success(ring) : .failure(KeyringError(error))
                return nil
            case .refusedByPeer(let why): return why
            case .refused(let why): return why.text
            case .malformed(let why): return "malformed answer: \(why)"
            case .plaintext, .message: return "unexpected answer to a keyring request"
            }
        }, completion: { error in
            done(answered ?? .failure(KeyringError(error ?? "no answer")))
        })
    }

    /// A member's keyring request: applied to our ring, answered with it.
    func answerKeyring(_ request: StreamMessage.KeyringRequest, ring: Keyring, from peer: Endpoint?) -> StreamMessage {
        guard let operation = request.operation else { return .keyringAnswer(ring: ring, error: "") }
        switch ring.applying(operation, version: request.version) {
        case .failure(let error):
            return .keyringAnswer(ring: ring, error: error.description)
        case .success(let after):
            if after != ring {
                setKeyring(after)
                Log.info("memberlist.\(label)", "keyring: \(operation.verb) by \(peer.map { "\($0.ip)" } ?? "a member"), \(after.keys.count) keys")
            }
            return .keyringAnswer(ring: after, error: "")
        }
    }
}

extension Keyring.Operation {
    var verb: String {
        switch self {
        case .install: "key installed"
        case .use: "primary key changed"
        case .remove: "key removed"
        }
    }
}
