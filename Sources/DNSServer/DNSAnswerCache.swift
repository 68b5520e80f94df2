import Sockets

/// Encoded answers for the current snapshot, by question: most queries
/// repeat a few names, and between catalog changes their answers differ
/// only in order. A hit copies the bytes, patches the ID, the RD/CD flags
/// and the question's case, and reorders the answers:
/// - A/AAAA answers are records of one size: shuffled in place per query;
/// - other answers (SRV and its additional records) rotate through
///   `variants` encodings, each made from its own shuffle.
/// Answers that were cut (TC) are never cached, so a client always gets
/// the records a fresh answer would. Emptied when the snapshot changes.
struct DNSAnswerCache {
    struct Key: Hashable {
        let name: [UInt8]
        let type: UInt16
        let limit: Int
        let edns: Bool

        // One pass over the name's bytes (the synthesized hash feeds them one by one).
        func hash(into hasher: inout Hasher) {
            name.withUnsafeBytes { hasher.combine(bytes: $0) }
            hasher.combine(type)
            hasher.combine(limit)
            hasher.combine(edns)
        }
    }

    private struct Entry {
        var variants: [[UInt8]]
        var next = 0
        /// Where the answer records start, how many there are and their
        /// common size; size 0 when they cannot be shuffled in place.
        let answersAt: Int
        let answerCount: Int
        let recordSize: Int
    }

    private var entries: [Key: Entry] = [:]
    private var snapshot: DNSSnapshot?
    static let capacity = 4096
    static let variants = 4

    var count: Int { entries.count }

    /// Forgets everything if `snapshot` is not the one the entries came from.
    mutating func use(_ snapshot: DNSSnapshot) {
        guard self.snapshot !== snapshot else { return }
        self.snapshot = snapshot
        entries.removeAll(keepingCapacity: true)
    }

    /// The key for a query that a cached answer can serve: a standard
    /// query for one IN name, EDNS0 version 0 at most. A/AAAA with
    /// `a_record_limit` stay uncached (which records are kept varies).
    func key(for query: DNSMessage, limit: Int, settings: DNSResponderSettings) -> Key? {
        guard query.header.opcode == 0, query.questions.count == 1, (query.edns?.version ?? 0) == 0 else { return nil }
        let q = query.questions[0]
        guard q.qclass == .internet else { return nil }
        if settings.aRecordLimit > 0 && (q.type == .a || q.type == .aaaa || q.type == .any) { return nil }
        return Key(name: q.name.wire.map(DNSName.fold), type: q.type.rawValue, limit: limit, edns: query.edns != nil)
    }

    /// A copy of the cached answer fitted to `query`, or nil on a miss (or
    /// when another variant is still to be made).
    mutating func answer(_ key: Key, to query: DNSMessage, random: inout SeededRandom) -> [UInt8]? {
        guard var entry = entries[key] else { return nil }
        if entry.recordSize == 0 && entry.variants.count < Self.variants { return nil }
        var bytes = entry.variants[entry.next]
        entry.next = (entry.next + 1) % entry.variants.count
        entries[key] = entry
        Self.patch(&bytes, for: query)
        if entry.recordSize > 0 && entry.answerCount > 1 {
            Self.shuffleRecords(&bytes, at: entry.answersAt, count: entry.answerCount, size: entry.recordSize, random: &random)
        }
        return bytes
    }

    /// Keeps an answer that was not cut.
    mutating func store(_ key: Key, _ bytes: [UInt8], question: DNSQuestion) {
        if var entry = entries[key] {
            if entry.variants.count < Self.variants { entry.variants.append(bytes) }
            entries[key] = entry
            return
        }
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        let answersAt = 12 + question.name.wire.count + 4
        let count = Int(bytes[6]) << 8 | Int(bytes[7])
        entries[key] = Entry(variants: [bytes], answersAt: answersAt, answerCount: count,
                             recordSize: Self.uniformRecordSize(bytes, at: answersAt, count: count))
    }

    /// 16 for A answers, 28 for AAAA, when every answer is one whose owner
    /// is a pointer to the question (offset 12) and nothing after the
    /// answers points into them; 0 otherwise.
    static func uniformRecordSize(_ bytes: [UInt8], at start: Int, count: Int) -> Int {
        guard count > 1, start + 4 <= bytes.count else { return 0 }
        let type = Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
        let size = type == 1 ? 16 : type == 28 ? 28 : 0
        guard size > 0, start + size * count <= bytes.count else { return 0 }
        for i in 0..<count {
            let at = start + i * size
            guard bytes[at] == 0xC0, bytes[at + 1] == 0x0C,
                  Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) == type,
                  Int(bytes[at + 10]) << 8 | Int(bytes[at + 11]) == size - 12 else { return 0 }
        }
        return size
    }

    /// The query's ID, RD and CD bits, and its question name as it was spelt.
    static func patch(_ bytes: inout [UInt8], for query: DNSMessage) {
        bytes[0] = UInt8(query.header.id >> 8)
        bytes[1] = UInt8(query.header.id & 0xff)
        bytes[2] = (bytes[2] & ~0x01) | (query.header.recursionDesired ? 0x01 : 0)
        bytes[3] = (bytes[3] & ~0x10) | (query.header.checkingDisabled ? 0x10 : 0)
        let name = query.questions[0].name.wire
        guard 12 + name.count <= bytes.count else { return }
        bytes.withUnsafeMutableBufferPointer { out in
            for (i, b) in name.enumerated() { out[12 + i] = b }
        }
    }

    /// Fisher-Yates over fixed-size records.
    static func shuffleRecords(_ bytes: inout [UInt8], at start: Int, count: Int, size: Int, random: inout SeededRandom) {
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            withUnsafeMutableBytes(of: &scratch) { tmp in
                guard let t = tmp.baseAddress else { return }
                for i in stride(from: count - 1, to: 0, by: -1) {
                    let j = Int(random.next() % UInt64(i + 1))
                    guard i != j else { continue }
                    let a = base + start + i * size, b = base + start + j * size
                    t.copyMemory(from: a, byteCount: size)
                    UnsafeMutableRawPointer(a).copyMemory(from: b, byteCount: size)
                    UnsafeMutableRawPointer(b).copyMemory(from: t, byteCount: size)
                }
            }
        }
    }
}
