@testable import DNSServer
import TestSupport
import Testing

/// Shared samples for the codec tests and the codec fuzz test.
enum CodecSamples {
    static func name(_ text: String) -> DNSName {
        guard let name = DNSName(text) else { fatalError("bad test name \(text)") }
        return name
    }

    static let web = name("web.service.consul")
    static let node1 = name("n1.node.dc1.consul")

    /// Every record type, every header flag, EDNS with options and an
    /// extended rcode.
    static var everything: DNSMessage {
        var header = DNSHeader(id: 0xBEEF)
        header.isResponse = true
        header.opcode = 2
        header.authoritative = true
        header.truncated = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.authenticData = true
        header.checkingDisabled = true
        header.rcode = .badVers
        let soa = DNSSOA(mname: name("ns.consul"), rname: name("hostmaster.consul"), serial: 7, refresh: 3600,
                         retry: 600, expire: 86400, minimum: 0xFFFF_FFFF)
        return DNSMessage(
            header: header,
            questions: [DNSQuestion(name: web, type: .any), DNSQuestion(name: name("Other.CONSUL"), type: .txt, qclass: .any)],
            answers: [
                DNSRecord(name: web, ttl: 0, data: .a(0x7F00_0001)),
                DNSRecord(name: web, ttl: 30, data: .aaaa([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])),
                DNSRecord(name: web, ttl: 30, data: .srv(priority: 1, weight: 2, port: 8080, target: node1)),
                DNSRecord(name: name("alias.consul"), ttl: 5, data: .cname(web)),
                DNSRecord(name: name("1.0.0.127.in-addr.arpa"), ttl: 5, data: .ptr(node1)),
                DNSRecord(name: web, ttl: 9, data: .txt([Array("a=b".utf8), [], [UInt8](repeating: 0x41, count: 255)])),
                DNSRecord(name: web, rclass: DNSClass(rawValue: 3), ttl: 1, data: .other(.mx, [0, 10, 0xC0, 12])),
                DNSRecord(name: .root, ttl: 1, data: .other(DNSType(rawValue: 99), [])),
            ],
            authority: [
                DNSRecord(name: name("consul"), ttl: 0, data: .soa(soa)),
                DNSRecord(name: name("consul"), ttl: 0, data: .ns(name("ns.consul"))),
            ],
            additional: [DNSRecord(name: node1, ttl: 0, data: .a(0x0A00_0001))],
            edns: EDNS(udpPayloadSize: 4096, version: 0, dnssecOK: true,
                       options: [(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8]), (code: 12, data: [])]))
    }

    /// A response to `dig web.service.consul SRV` from three instances.
    static var srvResponse: DNSMessage {
        var message = DNSMessage(header: DNSHeader(id: 7), questions: [DNSQuestion(name: web, type: .srv)])
        message.header.isResponse = true
        for i in 1...3 {
            let target = name("n\(i).node.dc1.consul")
            message.answers.append(DNSRecord(name: web, ttl: 0, data: .srv(priority: 1, weight: 1, port: 8000, target: target)))
            message.additional.append(DNSRecord(name: target, ttl: 0, data: .a(0x0A00_0000 | UInt32(i))))
        }
        message.edns = EDNS(udpPayloadSize: 1232)
        return message
    }

    /// `dig web.service.consul SRV` as it goes on the wire: id 0x1234, RD
    /// and AD set, one question, an OPT with a 1232-byte UDP size and a cookie.
    static let digQuery: [UInt8] = [
        0x12, 0x34, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        3, 0x77, 0x65, 0x62, 7, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 6, 0x63, 0x6F, 0x6E, 0x73, 0x75, 0x6C, 0,
        0x00, 0x21, 0x00, 0x01,
        0, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C,
        0x00, 0x0A, 0x00, 0x08, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
    ]
}

@Suite struct DNSCodecTests {
    typealias S = CodecSamples

    // MARK: Round trips

    @Test func encodeThenDecode_everyRecordTypeFlagAndEDNS_comesBackEqual() throws {
        let message = S.everything
        let (bytes, truncated) = message.encode()
        #expect(!truncated)
        #expect(try DNSMessage.decode(bytes) == message)
    }

    @Test func encodeThenDecode_eachHeaderFlagAlone_comesBackEqual() throws {
        let flags: [WritableKeyPath<DNSHeader, Bool>] = [\.isResponse, \.authoritative, \.truncated, \.recursionDesired,
                                                         \.recursionAvailable, \.authenticData, \.checkingDisabled]
        for flag in flags {
            var message = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: S.web, type: .a)])
            message.header[keyPath: flag] = true
            #expect(try DNSMessage.decode(message.encode().bytes) == message)
        }
        for opcode: UInt8 in [0, 1, 4, 5, 15] {
            var message = DNSMessage(header: DNSHeader(id: 1))
            message.header.opcode = opcode
            message.header.rcode = DNSRcode(rawValue: UInt16(opcode))
            #expect(try DNSMessage.decode(message.encode().bytes) == message)
        }
    }

    @Test func encode_rcodeAbove15WithEDNS_splitsBetweenHeaderAndOPT() throws {
        var message = DNSMessage(header: DNSHeader(id: 1), edns: EDNS())
        message.header.rcode = .badVers  // 16: header bits 0, OPT bits 1
        let bytes = message.encode().bytes
        #expect(bytes[3] & 0x0F == 0)
        #expect(bytes[bytes.count - 6] == 1)  // the OPT TTL's first byte
        #expect(try DNSMessage.decode(bytes).header.rcode == .badVers)
    }

    @Test func decode_trailingBytesAfterLastRecord_areIgnored() throws {
        let bytes = S.srvResponse.encode().bytes + [0xDE, 0xAD, 0xC0]
        #expect(try DNSMessage.decode(bytes) == S.srvResponse)
    }

    @Test func encode_txtStringOver255Bytes_isSplitIntoStringsOf255() throws {
        let long = [UInt8](repeating: 0x61, count: 300)
        let message = DNSMessage(answers: [DNSRecord(name: S.web, ttl: 0, data: .txt([long]))])
        let decoded = try DNSMessage.decode(message.encode().bytes)
        #expect(decoded.answers.first?.data == .txt([Array(long[..<255]), Array(long[255...])]))
    }

    // MARK: Hand-written packets

    @Test func decode_digSRVQueryWithEDNS_givesQuestionFlagsAndOptions() throws {
        let message = try DNSMessage.decode(S.digQuery)
        #expect(message.header.id == 0x1234)
        #expect(message.header.recursionDesired && message.header.authenticData)
        #expect(!message.header.isResponse && message.header.opcode == 0 && message.header.rcode == .noError)
        #expect(message.questions == [DNSQuestion(name: S.web, type: .srv)])
        #expect(message.answers.isEmpty && message.authority.isEmpty && message.additional.isEmpty)
        let edns = try #require(message.edns)
        #expect(edns.udpPayloadSize == 1232 && edns.version == 0 && !edns.dnssecOK)
        #expect(edns.options.count == 1)
        #expect(edns.options.first?.code == 10)
        #expect(edns.options.first?.data == [0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8])
    }

    // MARK: Compression

    @Test func encode_srvResponse_compressesOwnersButNotTheSRVTarget() throws {
        var message = DNSMessage(header: DNSHeader(id: 7), questions: [DNSQuestion(name: S.web, type: .srv)])
        message.answers = [DNSRecord(name: S.web, ttl: 0, data: .srv(priority: 1, weight: 1, port: 80, target: S.node1))]
        message.additional = [DNSRecord(name: S.node1, ttl: 0, data: .a(0x0A00_0001))]
        let bytes = message.encode().bytes
        // 12 header + 24 question + (2 + 10 + 6 + 20) SRV + (2 + 10 + 4) A: both owners are pointers.
        #expect(bytes.count == 90)
        #expect(bytes.count < Self.uncompressedSize(message))
        #expect(Self.contains(bytes, S.node1.wire), "SRV target must be written whole (RFC 2782)")
        #expect(try DNSMessage.decode(bytes) == message)
    }

    @Test func encode_differentNamesSharingSuffix_pointAtTheSharedLabels() throws {
        let message = DNSMessage(questions: [DNSQuestion(name: S.web, type: .cname)],
                                 answers: [DNSRecord(name: S.web, ttl: 0, data: .cname(S.node1))])
        let bytes = message.encode().bytes
        // "consul" of the question name sits at 12 + 4 ("web") + 8 ("service") = 24.
        #expect(Self.contains(bytes, [2, 0x6E, 0x31, 4, 0x6E, 0x6F, 0x64, 0x65, 3, 0x64, 0x63, 0x31, 0xC0, 24]))
        #expect(try DNSMessage.decode(bytes) == message)
    }

    @Test func encode_suffixInDifferentCase_isStillCompressed() throws {
        let message = DNSMessage(questions: [DNSQuestion(name: S.name("WEB.Service.CONSUL"), type: .a)],
                                 answers: [DNSRecord(name: S.name("x.consul"), ttl: 0, data: .a(1))])
        let bytes = message.encode().bytes
        #expect(Self.contains(bytes, [1, 0x78, 0xC0, 24]))
        let decoded = try DNSMessage.decode(bytes)
        #expect(decoded.answers.first?.name == S.name("x.consul"))
        #expect(decoded.questions.first?.name.wire == S.name("WEB.Service.CONSUL").wire, "case is kept")
    }

    // MARK: Malformed input

    @Test func decode_badCompressionPointers_throw() {
        let header: [UInt8] = [0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        let names: [(String, [UInt8])] = [
            ("pointer to itself", [0xC0, 12]),
            ("forward pointer", [0xC0, 14, 1, 0x61, 0]),
            ("loop through a label", [1, 0x61, 0xC0, 12]),
            ("pointer cut short", [0xC0]),
            ("pointer past the end", [0xC0, 0xFF]),
        ]
        for (what, name) in names {
            #expect(throws: DNSDecodeError.self, "\(what)") { try DNSMessage.decode(header + name + [0, 1, 0, 1]) }
        }
    }

    @Test func decode_pointerChainLongerThanHopLimit_throws() throws {
        #expect(try Self.pointerChain(hops: 100).answers.last?.name == .root)
        #expect(throws: DNSDecodeError.self) { try Self.pointerChain(hops: 200) }
    }

    /// An opaque record whose RDATA is a root then 200 pointers, each to
    /// the one before; a second record's owner points at the `hops`th, so
    /// reading it follows `hops + 1` pointers.
    static func pointerChain(hops: Int) throws(DNSDecodeError) -> DNSMessage {
        let rdataStart = 12 + 1 + 10
        var rdata: [UInt8] = [0]
        for i in 0..<200 {
            let target = i == 0 ? rdataStart : rdataStart + 1 + 2 * (i - 1)
            rdata += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
        }
        let first = rdataStart + 1 + 2 * (hops - 1)
        var bytes: [UInt8] = [0, 9, 0x80, 0, 0, 0, 0, 2, 0, 0, 0, 0]
        bytes += [0, 0, 99, 0, 1, 0, 0, 0, 0, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        bytes += [0xC0 | UInt8(first >> 8), UInt8(first & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]
        return try DNSMessage.decode(bytes)
    }

    @Test func decode_badLabelsAndNames_throw() {
        let header: [UInt8] = [0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        let label64 = [64] + [UInt8](repeating: 0x61, count: 64) + [0]
        let label0x80: [UInt8] = [0x80, 0x61, 0]
        let label63 = [63] + [UInt8](repeating: 0x61, count: 63)
        let name257 = label63 + label63 + label63 + label63 + [0]  // 4 × 64 + 1 bytes
        let name255 = label63 + label63 + label63 + [61] + [UInt8](repeating: 0x61, count: 61) + [0]
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(header + label64 + [0, 1, 0, 1]) }
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(header + label0x80 + [0, 1, 0, 1]) }
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(header + name257 + [0, 1, 0, 1]) }
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(header + [3, 0x61, 0x62]) }
        #expect(name255.count == 255)
        #expect(throws: Never.self) { try DNSMessage.decode(header + name255 + [0, 1, 0, 1]) }
    }

    @Test func decode_countsBeyondDataOrTruncatedRecords_throwWithTheId() throws {
        // 40 answers claimed, none there.
        let lying: [UInt8] = [0xAB, 0xCD, 0x81, 0x80, 0, 0, 0, 40, 0, 0, 0, 0]
        let error = try #require(throws: DNSDecodeError.self) { try DNSMessage.decode(lying) }
        #expect(error.id == 0xABCD)
        // Every cut of a valid response loses a record.
        let bytes = S.everything.encode().bytes
        for cut in 0..<bytes.count {
            let error = try #require(throws: DNSDecodeError.self) { try DNSMessage.decode(Array(bytes.prefix(cut))) }
            #expect(error.id == (cut >= 12 ? 0xBEEF : nil))
        }
    }

    @Test func decode_rdataNotMatchingRDLENGTH_throws() {
        let header: [UInt8] = [0, 9, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        let owner: [UInt8] = [0]
        let cases: [(String, [UInt8])] = [
            ("A of 3 bytes", [0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
            ("AAAA of 4 bytes", [0, 28, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]),
            ("CNAME name longer than RDLENGTH", [0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 1, 0x61, 0]),
            ("CNAME name shorter than RDLENGTH", [0, 5, 0, 1, 0, 0, 0, 0, 0, 4, 1, 0x61, 0, 0]),
            ("TXT string past RDLENGTH", [0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 0x61]),
            ("SRV without target", [0, 33, 0, 1, 0, 0, 0, 0, 0, 6, 0, 1, 0, 1, 0, 80]),
            ("SOA cut short", [0, 6, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0]),
            ("RDLENGTH past the end", [0, 99, 0, 1, 0, 0, 0, 0, 0, 9, 1]),
        ]
        for (what, record) in cases {
            #expect(throws: DNSDecodeError.self, "\(what)") { try DNSMessage.decode(header + owner + record) }
        }
    }

    @Test func decode_twoOPTRecordsOrNonRootOPT_throw() throws {
        var message = DNSMessage(header: DNSHeader(id: 5), edns: EDNS())
        var bytes = message.encode().bytes
        let opt = Array(bytes.suffix(11))
        bytes[11] = 2
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(bytes + opt) }

        message.edns = nil
        message.additional = [DNSRecord(name: S.web, ttl: 0, data: .other(.opt, []))]
        let named = message.encode().bytes
        #expect(throws: DNSDecodeError.self) { try DNSMessage.decode(named) }
    }

    @Test func decode_shortPacket_throwsWithoutHeader() {
        for count in 0..<12 {
            let error = #expect(throws: DNSDecodeError.self) { try DNSMessage.decode([UInt8](repeating: 1, count: count)) }
            #expect(error?.header == nil)
        }
    }

    // MARK: Size limit and truncation

    @Test func encode_40SRVAnswersUnder512_truncatesToAPrefixThatDecodes() throws {
        var message = S.srvResponse
        message.answers = []
        message.additional = []
        for i in 1...40 {
            let target = S.name("node-\(i).node.dc1.consul")
            message.answers.append(DNSRecord(name: S.web, ttl: 0, data: .srv(priority: 1, weight: 1, port: 80, target: target)))
            message.additional.append(DNSRecord(name: target, ttl: 0, data: .a(UInt32(i))))
        }
        let (bytes, truncated) = message.encode(limit: 512)
        #expect(truncated)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage.decode(bytes)
        #expect(decoded.answers.count < 40 && decoded.answers.count > 5)
        #expect(decoded.answers == Array(message.answers.prefix(decoded.answers.count)))
        #expect(decoded.additional == Array(message.additional.prefix(decoded.additional.count)))
        #expect(decoded.edns == message.edns, "the OPT record's room is reserved")
        #expect(!decoded.header.truncated, "TC is the caller's to set")
    }

    @Test func encode_onlyAdditionalRecordsDropped_isNotTruncated() throws {
        var message = S.srvResponse
        for i in 4...40 { message.additional.append(DNSRecord(name: S.name("n\(i).node.dc1.consul"), ttl: 0, data: .a(UInt32(i)))) }
        let (bytes, truncated) = message.encode(limit: 512)
        #expect(!truncated)
        #expect(bytes.count <= 512)
        let decoded = try DNSMessage.decode(bytes)
        #expect(decoded.answers == message.answers)
        #expect(decoded.additional.count < 40)
    }

    @Test func encode_headerAndQuestionsOverLimit_areWrittenAnywayAndTruncated() throws {
        let (bytes, truncated) = S.srvResponse.encode(limit: 20)
        #expect(truncated)
        let decoded = try DNSMessage.decode(bytes)
        #expect(decoded.questions == S.srvResponse.questions && decoded.answers.isEmpty && decoded.edns != nil)
    }

    @Test func encode_recordRolledBack_leavesNoPointerIntoRemovedBytes() throws {
        // The second SRV answer (target written whole, 96 bytes) does not
        // fit; the A record for the same name (77 bytes when its
        // "node.dc1.consul" points at the first target) does, written right
        // where the dropped target was: it must not point into those bytes.
        let long = S.name(String(repeating: "x", count: 60) + ".node.dc1.consul")
        var message = DNSMessage(header: DNSHeader(id: 3), questions: [DNSQuestion(name: S.web, type: .srv)])
        message.answers = [DNSRecord(name: S.web, ttl: 0, data: .srv(priority: 1, weight: 1, port: 80, target: S.node1))]
        let base = message.encode().bytes.count
        message.answers.append(DNSRecord(name: S.web, ttl: 0, data: .srv(priority: 1, weight: 1, port: 80, target: long)))
        message.additional = [DNSRecord(name: long, ttl: 0, data: .a(9))]
        let (bytes, truncated) = message.encode(limit: base + 80)
        #expect(truncated)
        let decoded = try DNSMessage.decode(bytes)
        #expect(decoded.answers == Array(message.answers.prefix(1)))
        #expect(decoded.additional == message.additional)
    }

    @Test func writerRollBack_dropsEveryCompressionTargetInTheCutBytes() {
        var writer = DNSWireWriter(capacity: 64)
        writer.writeName(S.web, compress: true)
        let kept = writer.compressionTargets
        let mark = writer.mark
        writer.writeName(S.node1, compress: false)
        writer.writeName(S.name("a.b.web.service.consul"), compress: true)
        #expect(writer.compressionTargets.count == kept.count + 4 + 2)
        writer.rollBack(to: mark)
        #expect(writer.compressionTargets == kept)
        #expect(writer.bytes == S.web.wire)
    }

    // MARK: Helpers

    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= bytes.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// The size `message` would have with no name compressed.
    static func uncompressedSize(_ message: DNSMessage) -> Int {
        func rdata(_ data: DNSRecordData) -> Int {
            switch data {
            case .a: 4
            case .aaaa: 16
            case .ns(let name), .cname(let name), .ptr(let name): name.wire.count
            case .soa(let soa): soa.mname.wire.count + soa.rname.wire.count + 20
            case .srv(_, _, _, let target): 6 + target.wire.count
            case .txt(let strings): strings.reduce(0) { $0 + 1 + $1.count }
            case .other(_, let bytes): bytes.count
            }
        }
        let records = message.answers + message.authority + message.additional
        return 12 + message.questions.reduce(0) { $0 + $1.name.wire.count + 4 }
            + records.reduce(0) { $0 + $1.name.wire.count + 10 + rdata($1.data) }
            + (message.edns.map { 11 + $0.options.reduce(0) { $0 + 4 + $1.data.count } } ?? 0)
    }
}
