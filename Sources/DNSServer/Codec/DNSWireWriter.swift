/// The output buffer of `DNSMessage.encode`, with name compression
/// (RFC 1035 §4.1.4): every label written below offset 0x4000 is remembered
/// as a place a later name ending the same way (ASCII case ignored) may
/// point to.
struct DNSWireWriter {
    private(set) var bytes: [UInt8]

    /// A label start in `bytes` and the hash of the name from there to its
    /// end. Kept in offset order, so a rollback is a cut of the tail.
    private struct Target {
        var hash: UInt64
        var offset: Int
    }
    private var targets: [Target] = []
    /// A label of the name being written: its start in the name's wire
    /// form and the hash of the name from there on.
    private struct Label {
        var start: Int
        var hash: UInt64
    }
    /// Scratch, reused across names.
    private var labels: [Label] = []

    /// A pointer holds a 14-bit offset.
    static let pointerLimit = 0x4000

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        targets.reserveCapacity(32)
        labels.reserveCapacity(16)
    }

    /// Where to cut back to if a record turns out not to fit.
    struct Mark {
        fileprivate let byteCount: Int
        fileprivate let targetCount: Int
    }

    var mark: Mark { Mark(byteCount: bytes.count, targetCount: targets.count) }

    /// Drops the bytes written since `mark` and every compression target
    /// in them, so no later name points into the removed bytes.
    mutating func rollBack(to mark: Mark) {
        bytes.removeSubrange(mark.byteCount...)
        targets.removeSubrange(mark.targetCount...)
    }

    /// For tests: where later names may point.
    var compressionTargets: [Int] { targets.map(\.offset) }

    @inline(__always) mutating func writeU8(_ value: UInt8) { bytes.append(value) }

    @inline(__always) mutating func writeU16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always) mutating func writeU32(_ value: UInt32) {
        writeU16(UInt16(truncatingIfNeeded: value >> 16))
        writeU16(UInt16(truncatingIfNeeded: value))
    }

    mutating func writeBytes(_ data: some Collection<UInt8>) { bytes.append(contentsOf: data) }

    mutating func writeZeros(_ count: Int) {
        for _ in 0..<count { bytes.append(0) }
    }

    mutating func patchU16(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// Writes `name`, ending in a pointer to the longest suffix already in
    /// the buffer when `compress` is set. Either way its labels become
    /// targets for later names (an SRV target is written whole but may be
    /// pointed to, RFC 2782).
    mutating func writeName(_ name: DNSName, compress: Bool) {
        let wire = name.wire
        let end = collectLabels(wire)
        var pointerFrom = labels.count, pointerTo = -1
        if compress {
            for index in labels.indices {
                if let offset = findTarget(labels[index].hash, matching: wire, from: labels[index].start, end: end) {
                    pointerFrom = index
                    pointerTo = offset
                    break
                }
            }
        }
        // The labels in front of the pointer are contiguous in `wire`: one copy.
        let copyEnd = pointerFrom < labels.count ? labels[pointerFrom].start : end
        let base = bytes.count
        for index in 0..<pointerFrom where base + labels[index].start < Self.pointerLimit {
            targets.append(Target(hash: labels[index].hash, offset: base + labels[index].start))
        }
        wire.withUnsafeBufferPointer { bytes.append(contentsOf: $0.prefix(copyEnd)) }  // no slice retain
        if pointerTo >= 0 {
            writeU16(0xC000 | UInt16(truncatingIfNeeded: pointerTo))
        } else {
            writeU8(0)
        }
    }

    /// Fills `labels` with the name's label starts and suffix hashes, and
    /// returns where its root byte is. Stops at anything malformed, so even
    /// a bad `DNSName(trustedWire:)` is written as a well-formed prefix.
    private mutating func collectLabels(_ wire: [UInt8]) -> Int {
        labels.removeAll(keepingCapacity: true)
        var i = 0
        while i < wire.count, wire[i] != 0, wire[i] <= UInt8(DNSName.maxLabel), i + 1 + Int(wire[i]) < wire.count {
            labels.append(Label(start: i, hash: 0))
            i += 1 + Int(wire[i])
        }
        // The hash of a suffix extends the hash of the suffix after it, so
        // a name's hash is the same wherever it starts. It samples each
        // label (length, first, middle and last byte) rather than reading
        // it all: a match is confirmed byte by byte anyway.
        var hash: UInt64 = 0
        for index in labels.indices.reversed() {
            let start = labels[index].start, length = Int(wire[start])
            let sample = UInt64(length) | UInt64(DNSName.fold(wire[start + 1])) << 8
                | UInt64(DNSName.fold(wire[start + 1 + length / 2])) << 16 | UInt64(DNSName.fold(wire[start + length])) << 24
            hash = (hash ^ sample) &* 0x9E37_79B9_7F4A_7C15
            hash ^= hash >> 29
            labels[index].hash = hash
        }
        return i
    }

    /// The offset of an earlier name equal to `wire[start..<end]` + root.
    private func findTarget(_ hash: UInt64, matching wire: [UInt8], from start: Int, end: Int) -> Int? {
        for target in targets where target.hash == hash && matches(wire, from: start, end: end, at: target.offset) {
            return target.offset
        }
        return nil
    }

    /// Compares label by label, following the pointers already written.
    /// Everything in `bytes` reached from a target was written by
    /// `writeName`, but the walk still checks its bounds and hop count.
    private func matches(_ wire: [UInt8], from start: Int, end: Int, at offset: Int) -> Bool {
        var a = start, b = offset, hops = 0
        while b < bytes.count {
            let length = Int(bytes[b])
            if length & 0xC0 == 0xC0 {
                guard b + 1 < bytes.count, hops < DNSWireReader.maxPointerHops else { return false }
                hops += 1
                b = (length & 0x3F) << 8 | Int(bytes[b + 1])
                continue
            }
            if a == end { return length == 0 }
            guard Int(wire[a]) == length, b + 1 + length <= bytes.count else { return false }
            for k in 1...length where DNSName.fold(wire[a + k]) != DNSName.fold(bytes[b + k]) { return false }
            a += 1 + length
            b += 1 + length
        }
        return false
    }
}
