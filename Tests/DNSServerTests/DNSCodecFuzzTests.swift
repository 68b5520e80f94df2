@testable import DNSServer
import TestSupport
import Testing

@Suite struct DNSCodecFuzzTests {
    /// Valid queries and responses to mutate.
    static let seeds: [[UInt8]] = {
        var query = DNSMessage(header: DNSHeader(id: 42), questions: [DNSQuestion(name: CodecSamples.node1, type: .aaaa)])
        query.header.recursionDesired = true
        let compressed = DNSMessage(questions: [DNSQuestion(name: CodecSamples.web, type: .cname)],
                                    answers: [DNSRecord(name: CodecSamples.web, ttl: 0, data: .cname(CodecSamples.node1))])
        return [
            CodecSamples.digQuery,
            query.encode().bytes,
            compressed.encode().bytes,
            CodecSamples.srvResponse.encode().bytes,
            CodecSamples.everything.encode().bytes,
        ]
    }()

    /// Bytes that matter to the format: small counts and lengths, the
    /// record types, label-type bits and pointers to early offsets.
    static let alphabet: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 0x0C, 0x10, 0x12, 0x1C, 0x21, 0x29, 0x3F, 0x40, 0x41, 0x7F,
                                    0x80, 0xC0, 0xC1, 0xFF, 0x61, 0x41, 0x2E]

    @Test func decode_100000RandomAndMutatedPackets_neverCrashAndRoundTripStably() {
        var rng = SplitMix64(seed: 0xD45_C0DEC)
        var decoded = 0
        var rejected = 0
        for round in 0..<100_000 {
            // Half the mutants get one edit, so many still decode and the
            // round trip is exercised; the rest get up to four.
            let input = round % 10 == 0
                ? Fuzzer.randomBytes(&rng, alphabet: Self.alphabet, maxCount: 80)
                : Fuzzer.mutate(Self.seeds[round % Self.seeds.count], &rng, alphabet: Self.alphabet,
                                edits: round % 2 == 0 ? 1...1 : 1...4, maxRun: 24)
            let message: DNSMessage
            do {
                message = try DNSMessage.decode(input)
            } catch {
                rejected += 1
                #expect((error.header != nil) == (input.count >= 12))
                continue
            }
            decoded += 1
            // Whatever decodes must encode to bytes that decode to it again.
            let (bytes, truncated) = message.encode()
            #expect(!truncated)
            do {
                let again = try DNSMessage.decode(bytes)
                #expect(again == message, "round trip changed the message from \(input)")
            } catch {
                Issue.record("re-encoded message does not decode (\(error)); input \(input)")
            }
            checkLimitedEncoding(message, limit: Int.random(in: 0...(bytes.count + 16), using: &rng))
        }
        #expect(decoded > 5_000, "decoded \(decoded)")  // 10,513 with this seed
        #expect(rejected > 50_000)
    }

    /// Random messages over a small vocabulary of labels in mixed case, so
    /// names share suffixes often: compression must never change a name.
    @Test func encode_5000GeneratedMessages_decodeEqualWithAndWithoutLimit() throws {
        var rng = SplitMix64(seed: 0x6E4E_4A4D)
        for _ in 0..<5_000 {
            let message = Self.randomMessage(&rng)
            let (bytes, truncated) = message.encode()
            #expect(!truncated)
            #expect(try DNSMessage.decode(bytes) == message)
            checkLimitedEncoding(message, limit: Int.random(in: 0...(bytes.count + 16), using: &rng))
        }
    }

    static let vocabulary = ["consul", "CONSUL", "node", "Node", "service", "dc1", "web", "n1", "n2", "x", "a-b", "in-addr"]

    static func randomName(_ rng: inout SplitMix64) -> DNSName {
        let count = Int.random(in: 0...5, using: &rng)
        let labels = (0..<count).map { _ in Array(vocabulary[Int.random(in: 0..<vocabulary.count, using: &rng)].utf8) }
        return DNSName(labels: labels) ?? .root
    }

    static func randomData(_ rng: inout SplitMix64) -> DNSRecordData {
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: .a(rng.next(upperBound: UInt32.max))
        case 1: .aaaa((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
        case 2: .ns(randomName(&rng))
        case 3: .cname(randomName(&rng))
        case 4: .ptr(randomName(&rng))
        case 5: .soa(DNSSOA(mname: randomName(&rng), rname: randomName(&rng), serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5))
        case 6: .srv(priority: 1, weight: 2, port: UInt16.random(in: 0...UInt16.max, using: &rng), target: randomName(&rng))
        case 7: .txt((0..<Int.random(in: 0...3, using: &rng)).map { _ in Array(randomName(&rng).description.utf8) })
        default: .other(DNSType(rawValue: UInt16.random(in: 100...200, using: &rng)), Array(randomName(&rng).wire))
        }
    }

    static func randomMessage(_ rng: inout SplitMix64) -> DNSMessage {
        func records(_ rng: inout SplitMix64) -> [DNSRecord] {
            (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                DNSRecord(name: randomName(&rng), ttl: UInt32.random(in: 0...600, using: &rng), data: randomData(&rng))
            }
        }
        var message = DNSMessage(header: DNSHeader(id: UInt16.random(in: 0...UInt16.max, using: &rng)))
        message.header.isResponse = Bool.random(using: &rng)
        message.questions = (0..<Int.random(in: 0...2, using: &rng)).map { _ in DNSQuestion(name: randomName(&rng), type: .srv) }
        message.answers = records(&rng)
        message.authority = records(&rng)
        message.additional = records(&rng)
        if Bool.random(using: &rng) {
            message.edns = EDNS(udpPayloadSize: 512, dnssecOK: Bool.random(using: &rng), options: [(code: 8, data: [0, 1, 24, 0, 10, 0, 0])])
            message.header.rcode = DNSRcode(rawValue: UInt16.random(in: 0...0xFFF, using: &rng))
        }
        return message
    }

    /// Under a size limit the output still decodes, to a prefix of each
    /// section; only an overlong header and questions may pass the limit.
    private func checkLimitedEncoding(_ message: DNSMessage, limit: Int) {
        let (bytes, truncated) = message.encode(limit: limit)
        guard let cut = try? DNSMessage.decode(bytes) else {
            Issue.record("encoding under limit \(limit) does not decode: \(bytes)")
            return
        }
        #expect(cut.questions == message.questions && cut.edns == message.edns)
        #expect(cut.answers == Array(message.answers.prefix(cut.answers.count)))
        #expect(cut.authority == Array(message.authority.prefix(cut.authority.count)))
        #expect(cut.additional == Array(message.additional.prefix(cut.additional.count)))
        #expect(truncated == (cut.answers.count < message.answers.count || cut.authority.count < message.authority.count))
        let recordCount = cut.answers.count + cut.authority.count + cut.additional.count
        #expect(bytes.count <= limit || recordCount == 0, "\(bytes.count) bytes over limit \(limit)")
    }
}
