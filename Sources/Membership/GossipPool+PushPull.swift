import Crypto
import Sockets

/// Push/pull over TCP (one length-prefixed frame each way), and the other
/// stream requests members send each other: keyring operations. Sealed
/// streams carry a `StreamMessage`; plaintext ones the SWIM payload alone.
extension GossipPool {
    /// What a received frame holds.
    enum StreamOpened {
        case plaintext([UInt8])
        case message(StreamMessage, key: AESGCM.Key)
        /// The peer refused our stream and said why.
        case refusedByPeer(String)
        case refused(GossipSeal.Refusal)
        case malformed(String)
    }

    func openStream(_ frame: [UInt8]) -> StreamOpened {
        if frame.first == GossipSeal.refusalVersion {
            // Printable ASCII only: the text goes into our log.
            let text = frame.dropFirst().prefix(512).map { (0x20...0x7e).contains($0) ? $0 : UInt8(ascii: "?") }
            return .refusedByPeer(String(decoding: text, as: UTF8.self))
        }
        switch GossipSeal.open(frame, encryption) {
        case .plaintext(let payload): return .plaintext(payload)
        case .refused(let why): return .refused(why)
        case .sealed(let plaintext, let key):
            do {
                return .message(try StreamMessage.decode(plaintext), key: key)
            } catch {
                return .malformed("\(error)")
            }
        }
    }

    /// Seals `message` under `key`; nil if libcrypto failed.
    func sealedStream(_ message: StreamMessage, key: AESGCM.Key) -> [UInt8]? {
        guard let sealed = GossipSeal.seal(message.encode(), key: key) else {
            Log.error("memberlist.\(label)", "could not seal a stream message (libcrypto failed)")
            return nil
        }
        return sealed
    }

    /// A push/pull payload as it goes on the wire: sealed under the
    /// primary key (with our ring) when outgoing encryption is on.
    private func pushPullFrame(_ payload: [UInt8], key: AESGCM.Key?) -> [UInt8]? {
        guard let key, let ring = encryption.keyring else { return payload }
        return sealedStream(.pushPull(ring: ring, payload: payload), key: key)
    }

    /// Opens one stream to `peer`, writes `request`, and hands the one
    /// frame that answers it to `answer` (or an error text to `completion`).
    func request(_ peer: Endpoint, _ makeRequest: @escaping () -> [UInt8]?,
                 answer: @escaping ([UInt8]) -> String?, completion: @escaping (String?) -> Void) {
        guard exchanges < Self.maxExchanges else { return completion("too many exchanges in flight") }
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(to: peer, loop: loop, timeout: instance.settings.tcpTimeout,
                                                   idleTimeout: instance.settings.tcpTimeout)
        } catch {
            return completion("\(error)")
        }
        exchanges += 1
        wireCounters.tcpConnects += 1
        var reader = FrameReader(limit: Self.frameLimit)
        var finished = false
        var reserved = 0
        func finish(_ error: String?) {
            guard !finished else { return }
            finished = true
            exchanges -= 1
            release(reserved)
            completion(error)
        }
        connection.onConnected = { [weak self] conn in
            guard let bytes = makeRequest() else {
                finish("could not seal the request")
                return conn.close()
            }
            let frame = FrameReader.frame(bytes)
            self?.wireCounters.tcpSentBytes += frame.count
            conn.write(frame)
        }
        connection.onBytes = { [weak self] conn, bytes in
            let outcome = reader.append(bytes)
            if reserved == 0, let n = reader.declaredLength, case .needMore = outcome {
                guard let self, reserve(n) else {
                    finish("a frame of \(n) bytes does not fit the push/pull memory budget now")
                    return conn.close()
                }
                reserved = n
            }
            switch outcome {
            case .needMore: return
            case .tooLarge(let n):
                finish("frame of \(n) bytes refused")
                conn.close()
            case .frame(let payload):
                // Finish before closing: closing reports "closed before answering".
                finish(answer(payload))
                conn.close()
            }
        }
        connection.onClose = { _, error in
            finish(error.map { "\($0)" } ?? "closed before answering")
        }
    }

    /// A push/pull exchange with `peer` (full state both ways).
    func exchange(with peer: Endpoint, join: Bool, completion: @escaping (String?) -> Void) {
        // Weak: a stream can outlive its pool (closed at shutdown while in flight).
        request(peer, { [weak self] in
            guard let self else { return nil }
            let user = delegate?.localState(join: join, answering: nil) ?? []
            return pushPullFrame(instance.pushPullPayload(join: join, userState: user), key: encryption.sealingKey)
        }, answer: { [weak self] frame in
            guard let self else { return "the pool shut down" }
            let payload: [UInt8]
            switch openStream(frame) {
            case .plaintext(let p): payload = p
            case .message(.pushPull(let ring, let p), _):
                adopt(ring, from: peer)
                payload = p
            case .message: return "unexpected answer to a push/pull"
            case .malformed(let why): return "malformed answer: \(why)"
            case .refused(let why):
                refused(why, from: peer, over: "push/pull answer")
                return why.text
            case .refusedByPeer(let why):
                if refusalLog.allow("\(peer.ip) refused-us", now: loop.now()) {
                    Log.warn("memberlist.\(label)", "\(peer) refused our gossip: \(why)")
                }
                return "refused by \(peer): \(why)"
            }
            if case .failure(let problem) = merge(payload, from: peer) { return problem.text }
            return nil
        }, completion: completion)
    }

    func acceptExchange(_ socket: Socket, peer: Endpoint?) {
        guard exchanges < Self.maxExchanges else {
            socket.close()
            return
        }
        exchanges += 1
        wireCounters.tcpAccepts += 1
        let connection = TCPConnection(accepted: socket, peer: peer, loop: loop, idleTimeout: instance.settings.tcpTimeout)
        var reader = FrameReader(limit: Self.frameLimit)
        var answered = false
        var reserved = 0
        connection.onBytes = { [weak self] conn, bytes in
            guard let self else { return conn.close() }
            guard !answered else { return }
            let outcome = reader.append(bytes)
            if reserved == 0, let n = reader.declaredLength, case .needMore = outcome {
                guard reserve(n) else {
                    if refusalLog.allow("budget", now: loop.now()) {
                        Log.warn("memberlist.\(label)", "refused a push/pull of \(n) bytes from \(peer.map { "\($0)" } ?? "?"): the \(Self.receiveBudget >> 20) MiB budget for frames being received is spent (logged once a minute)")
                    }
                    return conn.close()
                }
                reserved = n
            }
            switch outcome {
            case .needMore: return
            case .tooLarge(let n):
                Log.warn("memberlist.\(label)", "refused push/pull frame of \(n) bytes from \(peer.map { "\($0)" } ?? "?")")
                conn.close()
            case .frame(let frame):
                answered = true
                guard let reply = answer(frame, from: peer) else { return conn.close() }
                let framed = FrameReader.frame(reply)
                wireCounters.tcpSentBytes += framed.count
                conn.write(framed)
                conn.closeWhenFlushed()
            }
        }
        connection.onClose = { [weak self] _, _ in
            guard let self else { return }
            exchanges -= 1
            release(reserved)
        }
    }

    /// Takes `bytes` of the receive budget; false (counted) when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes <= receiveBudgetLeft else {
            exchangesOverBudget += 1
            return false
        }
        receiveBudgetLeft -= bytes
        return true
    }

    func release(_ bytes: Int) { receiveBudgetLeft += bytes }

    /// The frame that answers a peer's stream; nil closes it unanswered.
    private func answer(_ frame: [UInt8], from peer: Endpoint?) -> [UInt8]? {
        switch openStream(frame) {
        case .refusedByPeer:
            return nil
        case .refused(let why):
            refused(why, from: peer, over: "push/pull")
            return GossipSeal.refusal(why.text)
        case .malformed(let why):
            Log.warn("memberlist.\(label)", "malformed stream from \(peer.map { "\($0)" } ?? "?"): \(why)")
            return nil
        case .plaintext(let payload):
            // Answered as asked: a plaintext peer (moving to encryption) reads it.
            return answerPushPull(payload, from: peer, key: nil)
        case .message(.pushPull(let ring, let payload), let key):
            adopt(ring, from: peer)
            return answerPushPull(payload, from: peer, key: key)
        case .message(.keyringRequest(let request), let key):
            // Sealed, so we hold a ring.
            guard let ring = encryption.keyring else { return nil }
            return sealedStream(answerKeyring(request, ring: ring, from: peer), key: key)
        case .message(.keyringAnswer, _):
            return nil
        }
    }

    /// Merges a push/pull request and gives our answer, sealed under the
    /// key the request came with (a member that missed a rotation still
    /// reads it, and learns the new ring from it).
    private func answerPushPull(_ payload: [UInt8], from peer: Endpoint?, key: AESGCM.Key?) -> [UInt8]? {
        let join = payload.count > 2 && payload[2] != 0
        let request: [UInt8]
        switch merge(payload, from: peer) {
        case .failure(let problem):
            Log.warn("memberlist.\(label)", problem.text)
            return nil
        case .success(let userState):
            request = userState
        }
        // Answer after merging, so refutations the request caused (a
        // healed partition, a restarted peer) travel back at once.
        let user = delegate?.localState(join: join, answering: request) ?? []
        return pushPullFrame(instance.pushPullPayload(join: join, userState: user), key: key)
    }

    struct BadPayload: Error { let text: String }

    /// Merges a push/pull payload; gives the peer's user state, or why the
    /// payload was bad.
    private func merge(_ payload: [UInt8], from peer: Endpoint?) -> Result<[UInt8], BadPayload> {
        var out: [SWIM.Directive] = []
        let result = instance.mergePushPull(payload, now: loop.now(), into: &out)
        perform(out)
        switch result {
        case .success(let (userState, join)):
            if !userState.isEmpty { delegate?.mergeRemoteState(userState, join: join) }
            return .success(userState)
        case .failure(let error):
            return .failure(BadPayload(text: "\(error) from \(peer.map { "\($0)" } ?? "?")"))
        }
    }
}
