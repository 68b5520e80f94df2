/// Why a packet could not be read as a DNS message.
public struct DNSDecodeError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    /// The header, when the first 12 bytes were there to read: a server
    /// answers FORMERR echoing its id, opcode and RD (RFC 1035 §4.1.1).
    /// Nil for a packet too short to have one (drop it).
    public let header: DNSHeader?

    /// The query id to answer FORMERR with; nil when there is no header.
    public var id: UInt16? { header?.id }

    public init(_ reason: String, header: DNSHeader? = nil) {
        self.reason = reason
        self.header = header
    }

    public var description: String {
        if let id { return "malformed DNS message (id \(id)): \(reason)" }
        return "malformed DNS message: \(reason)"
    }
}

extension DNSMessage {
    /// Reads a whole message. Total: any bytes either decode or throw.
    /// Trailing bytes after the last record are ignored.
    public static func decode(_ bytes: [UInt8]) throws(DNSDecodeError) -> DNSMessage {
        let result: Result<DNSMessage, DNSDecodeError> = bytes.withUnsafeBufferPointer { buffer in
            var reader = DNSWireReader(buffer)
            do throws(DNSDecodeError) {
                return .success(try reader.readMessage())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// A cursor over one packet. Every read checks its bounds first and throws
/// rather than trapping; offsets stay far below Int's range, so plain
/// arithmetic on them cannot overflow.
struct DNSWireReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0
    /// Known once the first 12 bytes are read, so later errors carry the id.
    var header: DNSHeader?

    /// RFC 1035 allows at most 127 labels; a chain of pointers longer than
    /// this is a loop or an attack.
    static let maxPointerHops = 128
    static let headerSize = 12
    /// The smallest question (root name, type, class) and record (root
    /// name, type, class, TTL, RDLENGTH): the floor for the section counts.
    static let minQuestionSize = 5
    static let minRecordSize = 11

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func failure(_ reason: String) -> DNSDecodeError { DNSDecodeError(reason, header: header) }

    mutating func readMessage() throws(DNSDecodeError) -> DNSMessage {
        guard bytes.count >= Self.headerSize else { throw failure("shorter than the 12-byte header") }
        var header = DNSHeader(id: u16(at: 0))
        let flags = bytes[2], flags2 = bytes[3]
        header.isResponse = flags & 0x80 != 0
        header.opcode = (flags >> 3) & 0x0F
        header.authoritative = flags & 0x04 != 0
        header.truncated = flags & 0x02 != 0
        header.recursionDesired = flags & 0x01 != 0
        header.recursionAvailable = flags2 & 0x80 != 0
        header.authenticData = flags2 & 0x20 != 0
        header.checkingDisabled = flags2 & 0x10 != 0
        header.rcode = DNSRcode(rawValue: UInt16(flags2 & 0x0F))
        self.header = header

        let questionCount = Int(u16(at: 4))
        let answerCount = Int(u16(at: 6)), authorityCount = Int(u16(at: 8)), additionalCount = Int(u16(at: 10))
        offset = Self.headerSize
        // Lying counts fail here, before any array is sized from them.
        let floor = questionCount * Self.minQuestionSize
            + (answerCount + authorityCount + additionalCount) * Self.minRecordSize
        guard floor <= bytes.count - offset else { throw failure("section counts exceed the data") }

        var message = DNSMessage(header: header)
        message.questions.reserveCapacity(questionCount)
        for _ in 0..<questionCount {
            let name = try readName()
            try need(4)
            message.questions.append(DNSQuestion(name: name, type: DNSType(rawValue: u16(at: offset)),
                                                 qclass: DNSClass(rawValue: u16(at: offset + 2))))
            offset += 4
        }
        message.answers = try readRecords(answerCount)
        message.authority = try readRecords(authorityCount)
        message.additional.reserveCapacity(additionalCount)
        for _ in 0..<additionalCount {
            switch try readRecord(allowingOPT: true) {
            case .record(let record):
                message.additional.append(record)
            case .opt(let edns, let extendedRcode):
                guard message.edns == nil else { throw failure("more than one OPT record") }
                message.edns = edns
                // RFC 6891 §6.1.3: the OPT holds the upper 8 bits of the 12-bit rcode.
                message.header.rcode.rawValue |= UInt16(extendedRcode) << 4
            }
        }
        return message
    }

    private mutating func readRecords(_ count: Int) throws(DNSDecodeError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            // OPT outside the additional section is not EDNS: kept as opaque data.
            if case .record(let record) = try readRecord(allowingOPT: false) { records.append(record) }
        }
        return records
    }

    private enum ReadRecord {
        case record(DNSRecord)
        case opt(EDNS, extendedRcode: UInt8)
    }

    private mutating func readRecord(allowingOPT: Bool) throws(DNSDecodeError) -> ReadRecord {
        let name = try readName()
        try need(10)
        let type = DNSType(rawValue: u16(at: offset))
        let rclass = DNSClass(rawValue: u16(at: offset + 2))
        let ttl = u32(at: offset + 4)
        let length = Int(u16(at: offset + 8))
        offset += 10
        try need(length)
        let end = offset + length

        if allowingOPT && type == .opt {
            guard name.isRoot else { throw failure("OPT record's name is not the root") }
            let edns = EDNS(udpPayloadSize: rclass.rawValue, version: UInt8(truncatingIfNeeded: ttl >> 16),
                            dnssecOK: ttl & 0x8000 != 0, options: try readOptions(end: end))
            return .opt(edns, extendedRcode: UInt8(truncatingIfNeeded: ttl >> 24))
        }
        let data = try readRecordData(type, end: end)
        guard offset == end else { throw failure("RDATA of type \(type.rawValue) does not fill its RDLENGTH") }
        return .record(DNSRecord(name: name, rclass: rclass, ttl: ttl, data: data))
    }

    /// Reads RDATA up to `end`; the caller checks that it ended exactly there.
    private mutating func readRecordData(_ type: DNSType, end: Int) throws(DNSDecodeError) -> DNSRecordData {
        let length = end - offset
        switch type {
        case .a:
            guard length == 4 else { throw failure("A record RDATA is not 4 bytes") }
            offset = end
            return .a(u32(at: end - 4))
        case .aaaa:
            guard length == 16 else { throw failure("AAAA record RDATA is not 16 bytes") }
            offset = end
            return .aaaa(Array(bytes[(end - 16)..<end]))
        case .ns: return .ns(try readName())
        case .cname: return .cname(try readName())
        case .ptr: return .ptr(try readName())
        case .soa:
            let mname = try readName(), rname = try readName()
            try need(20)
            let soa = DNSSOA(mname: mname, rname: rname, serial: u32(at: offset), refresh: u32(at: offset + 4),
                             retry: u32(at: offset + 8), expire: u32(at: offset + 12), minimum: u32(at: offset + 16))
            offset += 20
            return .soa(soa)
        case .srv:
            try need(6)
            let priority = u16(at: offset), weight = u16(at: offset + 2), port = u16(at: offset + 4)
            offset += 6
            // RFC 2782 says the target is not compressed; accepted anyway, as resolvers do.
            return .srv(priority: priority, weight: weight, port: port, target: try readName())
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(bytes[offset])
                guard offset + 1 + count <= end else { throw failure("TXT string runs past RDLENGTH") }
                strings.append(Array(bytes[(offset + 1)..<(offset + 1 + count)]))
                offset += 1 + count
            }
            return .txt(strings)
        default:
            let data = Array(bytes[offset..<end])
            offset = end
            return .other(type, data)
        }
    }

    /// EDNS options (RFC 6891 §6.1.2): code, length, data, filling RDATA exactly.
    private mutating func readOptions(end: Int) throws(DNSDecodeError) -> [(code: UInt16, data: [UInt8])] {
        var options: [(code: UInt16, data: [UInt8])] = []
        while offset < end {
            guard end - offset >= 4 else { throw failure("EDNS option header runs past RDLENGTH") }
            let code = u16(at: offset), length = Int(u16(at: offset + 2))
            offset += 4
            guard length <= end - offset else { throw failure("EDNS option runs past RDLENGTH") }
            options.append((code: code, data: Array(bytes[offset..<(offset + length)])))
            offset += length
        }
        return options
    }

    /// Reads a possibly compressed name at `offset` and leaves `offset`
    /// just past it in place (after its first pointer, if any). The result
    /// is the uncompressed wire form.
    ///
    /// RFC 1035 §4.1.4; each pointer must point strictly before itself and
    /// at most `maxPointerHops` are followed, so any loop ends; the
    /// expanded name may not pass 255 bytes (§2.3.4).
    mutating func readName() throws(DNSDecodeError) -> DNSName {
        // Pass 1: check everything and measure; no allocation.
        let start = offset
        var position = start
        var length = 1  // the root's zero byte
        var hops = 0
        var endInPlace = -1
        while true {
            guard position < bytes.count else { throw failure("name runs past the end of the message") }
            let byte = bytes[position]
            if byte == 0 {
                if endInPlace < 0 { endInPlace = position + 1 }
                break
            }
            switch byte & 0xC0 {
            case 0x00:
                let next = position + 1 + Int(byte)
                guard next <= bytes.count else { throw failure("label runs past the end of the message") }
                length += 1 + Int(byte)
                guard length <= DNSName.maxLength else { throw failure("name longer than 255 bytes") }
                position = next
            case 0xC0:
                guard position + 1 < bytes.count else { throw failure("compression pointer cut short") }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw failure("compression pointer does not point backward") }
                hops += 1
                guard hops <= Self.maxPointerHops else { throw failure("too many compression pointers") }
                if endInPlace < 0 { endInPlace = position + 2 }
                position = target
            default:
                throw failure("unsupported label type \(byte >> 6)")  // 0x40 extended, 0x80 reserved
            }
        }
        offset = endInPlace
        // Pass 2: copy. Uncompressed names (every question) are one slice.
        if hops == 0 { return DNSName(trustedWire: Array(bytes[start..<endInPlace])) }
        var wire: [UInt8] = []
        wire.reserveCapacity(length)
        position = start
        while wire.count < length - 1 {
            let byte = bytes[position]
            if byte & 0xC0 == 0xC0 {
                position = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
            } else {
                let next = position + 1 + Int(byte)
                wire.append(contentsOf: bytes[position..<next])
                position = next
            }
        }
        wire.append(0)
        return DNSName(trustedWire: wire)
    }

    private func need(_ count: Int) throws(DNSDecodeError) {
        guard count <= bytes.count - offset else { throw failure("record cut short") }
    }

    /// Callers have checked that the bytes are there.
    @inline(__always) private func u16(at i: Int) -> UInt16 { UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }

    @inline(__always) private func u32(at i: Int) -> UInt32 {
        UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }
}
