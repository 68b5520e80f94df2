/// A security layer (TLS) a `TCPConnection` runs between its socket and
/// its owner: ciphertext in from the socket, plaintext out to `onBytes`;
/// plaintext written by the owner, ciphertext out to the socket. The
/// layer never touches the socket itself, so it never blocks: the
/// connection moves the bytes when the loop says they can move.
/// Implemented by `Crypto.TLSSession`; loop-confined like its connection.
public protocol StreamSecurity: AnyObject {
    /// The handshake has completed (plaintext may flow both ways).
    var isEstablished: Bool { get }
    /// Why the layer failed, once it has (a handshake refused, a bad record).
    var failureText: String? { get }
    /// Takes ciphertext read from the socket and advances the handshake;
    /// false once the layer has failed.
    func absorb(_ ciphertext: UnsafeRawBufferPointer) -> Bool
    /// Decrypts the next bytes into `buffer`.
    func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> SecureRead
    /// Whether absorbed ciphertext may still hold plaintext not yet read.
    var hasBufferedInput: Bool { get }
    /// Encrypts `plaintext` (after the handshake); false once failed.
    func seal(_ plaintext: UnsafeRawBufferPointer) -> Bool
    /// Ciphertext waiting for the socket (handshake records, sealed data, alerts).
    var pendingCiphertext: Int { get }
    /// Moves up to `buffer.count` bytes of pending ciphertext into `buffer`.
    func takeCiphertext(into buffer: UnsafeMutableRawBufferPointer) -> Int
    /// Queues our close_notify (no more plaintext from us).
    func beginClose()
}

public enum SecureRead: Equatable, Sendable {
    /// This many plaintext bytes were read into the buffer.
    case bytes(Int)
    /// Nothing more until more ciphertext arrives.
    case needMore
    /// The peer sent close_notify: the end of its stream.
    case closed
    /// The layer failed (see `failureText`).
    case failed
}
