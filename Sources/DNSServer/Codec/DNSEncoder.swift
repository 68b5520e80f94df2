extension DNSMessage {
    /// The wire form, at most `min(limit, 65535)` bytes.
    ///
    /// Header and questions are always written, and the OPT record (last,
    /// when `edns` is set) has its room reserved first. Then records go in
    /// section order, each section as far as its records fit; the first
    /// that does not fit is rolled back and the rest of its section dropped.
    /// Header counts are those written. `truncated` is true when an answer
    /// or authority record was dropped; dropped additional records alone do
    /// not count (RFC 2181 §9). The TC bit is the caller's to set.
    ///
    /// Only the low 4 bits of `header.rcode` fit in the header; the high 8
    /// travel in the OPT record and are lost without `edns`.
    public func encode(limit: Int = 65535) -> (bytes: [UInt8], truncated: Bool) {
        let limit = Swift.max(0, Swift.min(limit, 65535))
        let optSize = edns.map(Self.optSize) ?? 0
        var writer = DNSWireWriter(capacity: Swift.min(limit, 512))
        writeHeader(&writer)
        let questionCount = Swift.min(questions.count, Int(UInt16.max))
        for question in questions.prefix(questionCount) {
            writer.writeName(question.name, compress: true)
            writer.writeU16(question.type.rawValue)
            writer.writeU16(question.qclass.rawValue)
        }
        let budget = limit - optSize
        let maxCount = Int(UInt16.max)
        let answerCount = Self.writeSection(answers, into: &writer, budget: budget, maxCount: maxCount)
        let authorityCount = Self.writeSection(authority, into: &writer, budget: budget, maxCount: maxCount)
        // The OPT record counts as an additional record too.
        let additionalCount = Self.writeSection(additional, into: &writer, budget: budget,
                                                maxCount: edns == nil ? maxCount : maxCount - 1)
        if let edns { writeOPT(edns, into: &writer) }

        writer.patchU16(UInt16(questionCount), at: 4)
        writer.patchU16(UInt16(answerCount), at: 6)
        writer.patchU16(UInt16(authorityCount), at: 8)
        writer.patchU16(UInt16(additionalCount + (edns == nil ? 0 : 1)), at: 10)
        let truncated = answerCount < answers.count || authorityCount < authority.count
        return (writer.bytes, truncated)
    }

    private func writeHeader(_ writer: inout DNSWireWriter) {
        writer.writeU16(header.id)
        var flags: UInt8 = (header.opcode & 0x0F) << 3
        if header.isResponse { flags |= 0x80 }
        if header.authoritative { flags |= 0x04 }
        if header.truncated { flags |= 0x02 }
        if header.recursionDesired { flags |= 0x01 }
        var flags2 = UInt8(truncatingIfNeeded: header.rcode.rawValue & 0x0F)
        if header.recursionAvailable { flags2 |= 0x80 }
        if header.authenticData { flags2 |= 0x20 }
        if header.checkingDisabled { flags2 |= 0x10 }
        writer.writeU8(flags)
        writer.writeU8(flags2)
        writer.writeZeros(8)  // the four counts, patched at the end
    }

    /// Writes records while they fit in `budget` bytes; returns how many.
    private static func writeSection(_ records: [DNSRecord], into writer: inout DNSWireWriter, budget: Int,
                                     maxCount: Int) -> Int {
        var written = 0
        for index in records.indices {  // by index: no copy of each record
            guard written < maxCount else { break }
            let mark = writer.mark
            guard writer.write(records[index], budget: budget) else {
                writer.rollBack(to: mark)
                break
            }
            written += 1
        }
        return written
    }

    /// 11 bytes (root name, type, class, TTL, RDLENGTH) plus the options
    /// that fit in one RDATA.
    static func optSize(_ edns: EDNS) -> Int { 11 + optionsLength(edns) }

    /// Options are written in order while RDLENGTH stays within 16 bits;
    /// any beyond that are dropped.
    private static func optionsLength(_ edns: EDNS) -> Int {
        var length = 0
        for option in edns.options {
            guard length + 4 + option.data.count <= Int(UInt16.max) else { break }
            length += 4 + option.data.count
        }
        return length
    }

    private func writeOPT(_ edns: EDNS, into writer: inout DNSWireWriter) {
        writer.writeU8(0)  // the root
        writer.writeU16(DNSType.opt.rawValue)
        writer.writeU16(edns.udpPayloadSize)
        // RFC 6891 §6.1.3: extended rcode, version, DO bit, Z.
        let extendedRcode = UInt32(truncatingIfNeeded: header.rcode.rawValue >> 4) & 0xFF
        writer.writeU32(extendedRcode << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
        let length = Self.optionsLength(edns)
        writer.writeU16(UInt16(length))
        var written = 0
        for option in edns.options where written < length {
            writer.writeU16(option.code)
            writer.writeU16(UInt16(option.data.count))
            writer.writeBytes(option.data)
            written += 4 + option.data.count
        }
    }
}

extension DNSWireWriter {
    /// One resource record; names in NS, CNAME, PTR and SOA RDATA are
    /// compressed, an SRV target is not (RFC 2782). False, and possibly
    /// left half written for the caller to roll back, if the record would
    /// end past `budget`.
    mutating func write(_ record: DNSRecord, budget: Int) -> Bool {
        writeName(record.name, compress: true)
        writeU16(record.type.rawValue)
        writeU16(record.rclass.rawValue)
        writeU32(record.ttl)
        let lengthAt = bytes.count
        writeU16(0)
        switch record.data {
        case .a(let address):
            writeU32(address)
        case .aaaa(let address):
            // Always 16 bytes, so the output decodes whatever the caller built.
            for i in 0..<16 { writeU8(i < address.count ? address[i] : 0) }
        case .ns(let name), .cname(let name), .ptr(let name):
            writeName(name, compress: true)
        case .soa(let soa):
            writeName(soa.mname, compress: true)
            writeName(soa.rname, compress: true)
            writeU32(soa.serial)
            writeU32(soa.refresh)
            writeU32(soa.retry)
            writeU32(soa.expire)
            writeU32(soa.minimum)
        case .srv(let priority, let weight, let port, let target):
            writeU16(priority)
            writeU16(weight)
            writeU16(port)
            writeName(target, compress: false)
        case .txt(let strings):
            for string in strings {
                guard writeCharacterStrings(string, budget: budget) else { return false }
            }
        case .other(_, let data):
            guard data.count <= budget - bytes.count else { return false }  // checked before copying
            writeBytes(data)
        }
        // The budget is at most 65535, so a record within it has a 16-bit RDLENGTH.
        guard bytes.count <= budget else { return false }
        patchU16(UInt16(bytes.count - lengthAt - 2), at: lengthAt)
        return true
    }

    /// A TXT string longer than 255 bytes goes out as several strings.
    private mutating func writeCharacterStrings(_ string: [UInt8], budget: Int) -> Bool {
        var start = 0
        repeat {
            guard bytes.count <= budget else { return false }
            let end = Swift.min(start + 255, string.count)
            writeU8(UInt8(end - start))
            writeBytes(string[start..<end])
            start = end
        } while start < string.count
        return true
    }
}
