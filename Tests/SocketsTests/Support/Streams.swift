import Glibc
import Synchronization

/// A deterministic pseudo-random byte stream (SplitMix64, one word at a
/// time), so a test can send many megabytes without holding them.
struct PatternStream {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// Fills `buffer`, whose size MUST be a multiple of 8.
    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count % 8 == 0)
        var offset = 0
        while offset < buffer.count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            buffer.storeBytes(of: z ^ (z >> 31), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
    }
}

/// FNV-1a over 64-bit words (with an extra shift-xor so every bit mixes),
/// fed in pieces of any size: the same bytes give the same hash however
/// the stream was cut into reads.
struct StreamHash: Equatable, Sendable {
    private static let prime: UInt64 = 0x0000_0100_0000_01B3
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325
    private var partial: UInt64 = 0
    private var partialCount: UInt64 = 0
    private(set) var count = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        while partialCount != 0 && i < bytes.count {
            absorb(bytes[i])
            i += 1
        }
        while i + 8 <= bytes.count {
            mix(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        while i < bytes.count {
            absorb(bytes[i])
            i += 1
        }
        count += bytes.count
    }

    var value: UInt64 {
        var copy = self
        if copy.partialCount > 0 { copy.mix(copy.partial) }
        copy.mix(UInt64(count))
        return copy.state
    }

    private mutating func absorb(_ byte: UInt8) {
        partial |= UInt64(byte) << (8 * partialCount)
        partialCount += 1
        if partialCount == 8 {
            mix(partial)
            partial = 0
            partialCount = 0
        }
    }

    private mutating func mix(_ word: UInt64) {
        state = (state ^ word) &* Self.prime
        state ^= state >> 29
    }
}

/// Sends `total` bytes of `PatternStream(seed:)` in 64 KiB pieces, then
/// half-closes; returns the hash of what it sent (nil if a send failed).
/// `progress` counts bytes handed to the kernel.
func sendPattern(_ socket: BlockingSocket, seed: UInt64, total: Int, progress: Progress? = nil) -> StreamHash? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { buffer.deallocate() }
    var pattern = PatternStream(seed: seed)
    var hash = StreamHash()
    var sent = 0
    while sent < total {
        let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, total - sent)])
        pattern.fill(piece)
        hash.update(UnsafeRawBufferPointer(piece))
        guard socket.sendAll(UnsafeRawBufferPointer(piece)) else { return nil }
        sent += piece.count
        progress?.bytes.store(sent, ordering: .relaxed)
    }
    socket.shutdownWrite()
    return hash
}

/// The hash of `total` bytes of `PatternStream(seed:)` (what a peer should receive).
func patternHash(seed: UInt64, total: Int) -> StreamHash {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { buffer.deallocate() }
    var pattern = PatternStream(seed: seed)
    var hash = StreamHash()
    while hash.count < total {
        let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, total - hash.count)])
        pattern.fill(piece)
        hash.update(UnsafeRawBufferPointer(piece))
    }
    return hash
}

/// Reads until EOF and hashes what came; nil on an error or timeout.
func receiveHashed(_ socket: BlockingSocket) -> StreamHash? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { buffer.deallocate() }
    var hash = StreamHash()
    while true {
        let n = socket.receive(into: buffer)
        if n == 0 { return hash }
        if n < 0 { return nil }
        hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}

final class Progress: Sendable {
    let bytes = Atomic<Int>(0)
}

/// A joinable thread for a blocking peer (never Swift's cooperative pool).
final class TestThread<T: Sendable>: Sendable {
    private let thread: pthread_t
    private let slot: Slot

    /// Written by the thread before it ends, read after `pthread_join`.
    private final class Slot: @unchecked Sendable { var value: T? }

    init(_ body: @escaping @Sendable () -> T) {
        let slot = Slot()
        self.slot = slot
        thread = startThread { slot.value = body() }
    }

    func join() -> T {
        pthread_join(thread, nil)
        return slot.value!
    }
}

private final class ThreadStart {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

private func startThread(_ run: @escaping () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadStart(run))
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue().run()
        return nil
    }, box.toOpaque())
    precondition(rc == 0, "pthread_create: \(rc)")
    return thread
}

/// A value shared between the test thread, peer threads and the loop.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func set(_ value: Value) { mutex.withLock { $0 = value } }
    func update(_ body: (inout Value) -> Void) { mutex.withLock { body(&$0) } }
}
