/// A domain name in its uncompressed wire form: length-prefixed labels
/// ending with the root's zero byte. Case is kept as it came (answers echo
/// the question as asked); equality, hashing and suffix tests ignore ASCII
/// case (RFC 4343).
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// At most 255 bytes, each label 1...63 bytes (RFC 1035 §2.3.4).
    public private(set) var wire: [UInt8]

    public static let maxLength = 255
    public static let maxLabel = 63
    public static let root = DNSName(trustedWire: [0])

    /// Wire bytes already checked by the caller (the decoder).
    init(trustedWire: [UInt8]) { wire = trustedWire }

    /// Parses dotted text ("web.service.consul." or without the final dot;
    /// "." is the root). No escapes: a label is any bytes but the dot.
    /// Nil for an empty label, a label over 63 bytes or a name over 255.
    public init?(_ text: String) {
        if text == "." || text.isEmpty {
            self = .root
            return
        }
        var labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.last?.isEmpty == true { labels.removeLast() }
        self.init(labels: labels.map(Array.init))
    }

    /// Nil for an empty or over-long label, or a name over 255 bytes.
    public init?(labels: [[UInt8]]) {
        var wire: [UInt8] = []
        wire.reserveCapacity(labels.reduce(1) { $0 + $1.count + 1 })
        for label in labels {
            guard !label.isEmpty, label.count <= Self.maxLabel else { return nil }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= Self.maxLength else { return nil }
        self.wire = wire
    }

    /// The labels, leftmost first, without the root.
    public var labels: [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var i = 0
        while i < wire.count, wire[i] != 0 {
            let n = Int(wire[i])
            result.append(wire[(i + 1)..<(i + 1 + n)])
            i += 1 + n
        }
        return result
    }

    public var labelCount: Int {
        var count = 0, i = 0
        while i < wire.count, wire[i] != 0 {
            count += 1
            i += 1 + Int(wire[i])
        }
        return count
    }

    public var isRoot: Bool { wire.count == 1 }

    /// "web.service.consul." (the root is ".").
    public var description: String {
        if isRoot { return "." }
        var text = ""
        for label in labels {
            text += String(decoding: label, as: UTF8.self)
            text += "."
        }
        return text
    }

    /// This name with `suffix`'s labels appended (nil past 255 bytes).
    public func appending(_ suffix: DNSName) -> DNSName? {
        let total = wire.count - 1 + suffix.wire.count
        guard total <= Self.maxLength else { return nil }
        return DNSName(trustedWire: Array(wire.dropLast()) + suffix.wire)
    }

    /// The labels in front of `suffix` if this name ends with it (whole
    /// labels, any case); nil otherwise.
    public func labels(before suffix: DNSName) -> [ArraySlice<UInt8>]? {
        let mine = labels, theirs = suffix.labels
        guard mine.count >= theirs.count else { return nil }
        let offset = mine.count - theirs.count
        for (i, label) in theirs.enumerated() where !Self.equalFolded(mine[offset + i], label) {
            return nil
        }
        return Array(mine[..<offset])
    }

    public func hasSuffix(_ suffix: DNSName) -> Bool { labels(before: suffix) != nil }

    public static func == (a: DNSName, b: DNSName) -> Bool { equalFolded(a.wire[...], b.wire[...]) }

    public func hash(into hasher: inout Hasher) {
        for byte in wire { hasher.combine(Self.fold(byte)) }
    }

    /// ASCII lower case; other bytes unchanged.
    @inline(__always)
    public static func fold(_ byte: UInt8) -> UInt8 {
        byte &- 65 < 26 ? byte | 0x20 : byte
    }

    public static func equalFolded(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var i = a.startIndex, j = b.startIndex
        while i < a.endIndex {
            if fold(a[i]) != fold(b[j]) { return false }
            i += 1
            j += 1
        }
        return true
    }
}
