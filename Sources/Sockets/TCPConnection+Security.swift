import Glibc

/// TLS on a connection: the owner calls `secure(with:)` and goes on
/// reading and writing plaintext; `onBytes`, flow control and half-close
/// keep their meaning (a FIN becomes close_notify then FIN, the peer's
/// close_notify its EOF). Ciphertext goes through the loop's shared
/// buffers, so a relayed byte costs a record's encryption and one copy
/// more than plaintext, never an allocation.
extension TCPConnection {
    /// Puts `layer` between the socket and the owner. `received`: bytes the
    /// owner already read that belong to the layer (the first bytes of a
    /// ClientHello it looked at to choose TLS). A client's layer has its
    /// hello ready: it goes out once connected.
    public func secure(with layer: StreamSecurity, received: UnsafeRawBufferPointer? = nil) {
        guard !closed, security == nil else { return }
        security = layer
        sendCiphertext()
        if let received, !received.isEmpty, !closed { absorbSecured(received) }
    }

    /// Whether an open TLS handshake still stands between queued
    /// plaintext and the socket (false without TLS).
    var handshakeSettled: Bool { security.map { $0.isEstablished } ?? true }

    func absorbSecured(_ ciphertext: UnsafeRawBufferPointer) {
        guard let security else { return }
        let wasEstablished = security.isEstablished
        guard security.absorb(ciphertext) else { return failSecurity() }
        sendCiphertext()
        if closed { return }
        if !wasEstablished {
            guard security.isEstablished else { return }
            establish(security)
            if closed { return }
        }
        pumpPlaintext()
    }

    private func establish(_ security: StreamSecurity) {
        onSecured?(self)
        if closed { return }
        if !heldPlaintext.isEmpty {
            let held = heldPlaintext
            heldPlaintext = []
            held.withUnsafeBytes { writeSecured($0) }
            if closed { return }
            // An owner that paused for the held bytes waits for this (the
            // kernel may have taken them all at once: no flush to say so).
            if outboxPending == 0, let onDrained { onDrained(self) }
            if closed { return }
        }
        if shutdownAfterFlush || closeAfterFlush {
            security.beginClose()
            sendCiphertext()
            if closed { return }
            if !connecting && outboxPending == 0 {
                if closeAfterFlush { return finish(nil) }
                shutdownWriteNow()
            }
        }
    }

    /// Hands decrypted bytes to the owner while it wants them.
    func pumpPlaintext() {
        guard let security else { return }
        let buffer = eventLoop.plaintextBuffer
        while !closed && !readPaused && !isReadClosed {
            switch security.readPlaintext(into: buffer) {
            case .bytes(let n):
                onBytes(self, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .needMore:
                sendCiphertext()
                return
            case .closed:
                sendCiphertext()
                if !closed { readEOF() }
                return
            case .failed:
                return failSecurity()
            }
        }
    }

    func schedulePlaintextPump() {
        guard !plaintextPumpScheduled else { return }
        plaintextPumpScheduled = true
        // Not now: `resumeReading` is often called from the owner's own callbacks.
        _ = eventLoop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            plaintextPumpScheduled = false
            pumpPlaintext()
        }
    }

    func writeSecured(_ plaintext: UnsafeRawBufferPointer) {
        guard let security, !closed, plaintext.count > 0 else { return }
        guard security.isEstablished else { return heldPlaintext.append(contentsOf: plaintext) }
        guard security.seal(plaintext) else { return failSecurity() }
        sendCiphertext()
    }

    /// Moves the layer's pending ciphertext to the socket (or the outbox).
    func sendCiphertext() {
        guard let security else { return }
        let buffer = eventLoop.cipherBuffer
        while !closed && !isWriteClosed && security.pendingCiphertext > 0 {
            let n = security.takeCiphertext(into: buffer)
            guard n > 0 else { return }
            writeToSocket(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Sends the layer's alert (best effort) and ends the connection.
    private func failSecurity() {
        let why = security?.failureText ?? "failed"
        sendCiphertext()
        finish(SocketError("TLS: \(why)", errno: EPROTO))
    }
}
