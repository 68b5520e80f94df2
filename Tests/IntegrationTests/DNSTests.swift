// Consul's DNS interface of real agents, asked with real `dig` (testing
// ladder, steps 3 and 5): service, tag, RFC 2782, node and addr lookups
// answered on one agent from the catalog replicated from the others;
// critical instances left out; NXDOMAIN and NODATA with the SOA, REFUSED
// outside the domain; TC over UDP and every record over TCP; registrations,
// health flips and deregistrations elsewhere show up. Malformed packets get
// FORMERR or nothing, and the agent keeps answering.

import Glibc
import Sockets
import Testing

extension Integration {
    @Suite("DNS on loopback")
    struct DNSOnLoopback {
        static func register(_ h: Harness, _ agent: TestAgent, _ body: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register", body: Array(body.utf8))
            h.check(r.status == 200, "registering \(body) on \(agent.name): \(r)", sourceLocation: sourceLocation)
        }

        /// `<node>.node.dc1.consul.`, the SRV target of an instance at its node's address.
        static func target(_ agent: TestAgent) -> String { "\(agent.name).node.dc1.consul." }

        @Test("web on 3 agents answered by one: A, SRV with targets' A records, tags, RFC 2782, node, addr, NXDOMAIN/NODATA with SOA, REFUSED, TC over UDP and all 40 over TCP, changes elsewhere show up")
        func answersFromTheReplicatedCatalog() throws {
            try Harness.run("dns") { h in
                guard Dig.path != nil else { throw h.fail(Dig.missing) }
                let ips = try LoopbackBlock.pick(count: 3, thirdOctets: [72, 82, 92, 102, 112], ports: h.ports)
                let agents = ips.enumerated().map { i, ip in h.addAgent(name: "dns\(i + 1)", ip: ip, retryJoin: [ips[0]]) }
                for agent in agents { try h.start(agent) }
                let (a, b, c) = (agents[0], agents[1], agents[2])
                try h.waitForExactViews("the 3 agents list each other alive", observers: agents,
                                        expected: Dictionary(uniqueKeysWithValues: agents.map { ($0.name, MemberView.alive) }))
                let block = ips[0].split(separator: ".").dropLast().joined(separator: ".")  // 127.0.X

                // web on each agent, passing; a 4th instance on b whose TTL check never passed.
                for (i, agent) in agents.enumerated() {
                    let tag = i < 2 ? "v1" : "v2"
                    try Self.register(h, agent, #"""
                        {"Name":"web","ID":"web-\#(agent.name)","Port":8080,"Tags":["\#(tag)"],"Weights":{"Passing":5,"Warning":1},
                         "Check":{"TTL":"10m","Status":"passing"}}
                        """#)
                }
                let downIP = "\(block).250"
                try Self.register(h, b, #"{"Name":"web","ID":"web-down","Address":"\#(downIP)","Port":8089,"Tags":["v1"],"Check":{"TTL":"10m"}}"#)
                try h.eventually("\(a.name)'s catalog lists all 4 web instances") {
                    let r = try? HTTPClient.get(a.ip, a.ports.http, "/v1/catalog/service/web")
                    let text = r?.text ?? ""
                    let ids = ["web-dns1", "web-dns2", "web-dns3", "web-down"]
                    return (r?.status == 200 && ids.allSatisfy { text.contains("\"\($0)\"") }, "\(String(describing: r))")
                }
                try h.eventually("\(a.name) answers web.service.consul A with the 3 passing instances") {
                    try h.requireRunning(agents)
                    let r = try h.dig(a, "web.service.consul")
                    return (r.status == "NOERROR" && r.addresses == ips.sorted(), "\(r)")
                }

                // A and SRV: the critical instance is in neither.
                let web = try h.dig(a, "web.service.consul", "A")
                h.check(web.status == "NOERROR" && web.flags.contains("aa") && !web.truncated && web.answer.count == 3
                        && web.addresses == ips.sorted() && !web.addresses.contains(downIP),
                        "web A: the 3 agents' addresses, authoritative, not the critical \(downIP): \(web)")
                let srv = try h.dig(a, "web.service.consul", "SRV")
                let expectedSRV = agents.map { DigAnswer.SRV(priority: 1, weight: 5, port: 8080, target: Self.target($0)) }
                h.check(srv.status == "NOERROR" && !srv.truncated && srv.services == expectedSRV,
                        "web SRV: priority 1, weight 5, port 8080, targets <node>.node.dc1.consul., no 8089: \(srv)")
                for agent in agents {
                    h.check(srv.additionalAddresses[Self.target(agent)] == [agent.ip],
                            "web SRV: ADDITIONAL has \(Self.target(agent)) A \(agent.ip): \(srv)")
                }
                h.check(srv.additionalAddresses.count == 3, "web SRV: exactly the 3 targets' A records in ADDITIONAL: \(srv)")
                let withDC = try h.dig(a, "web.service.dc1.consul")
                h.check(withDC.status == "NOERROR" && withDC.addresses == ips.sorted(), "web.service.dc1.consul A: \(withDC)")

                // Tags: the tag form and RFC 2782's filter, _tcp/_udp do not.
                let v1 = try h.dig(a, "v1.web.service.consul")
                h.check(v1.status == "NOERROR" && v1.addresses == [a.ip, b.ip].sorted(),
                        "v1.web A: dns1 and dns2 only (web-down is v1 but critical): \(v1)")
                let mixedCase = try h.dig(a, "V1.Web.Service.Consul")
                h.check(mixedCase.status == "NOERROR" && mixedCase.addresses == [a.ip, b.ip].sorted(),
                        "names are case-insensitive: V1.Web.Service.Consul A: \(mixedCase)")
                let rfcV1 = try h.dig(a, "_web._v1.service.consul", "SRV")
                h.check(rfcV1.status == "NOERROR" && rfcV1.services.map(\.target) == [a, b].map(Self.target),
                        "_web._v1 SRV: dns1 and dns2: \(rfcV1)")
                let rfcV2 = try h.dig(a, "_web._v2.service.consul", "SRV")
                h.check(rfcV2.status == "NOERROR" && rfcV2.services == [DigAnswer.SRV(priority: 1, weight: 5, port: 8080, target: Self.target(c))],
                        "_web._v2 SRV: dns3 only: \(rfcV2)")
                for proto in ["_tcp", "_udp"] {
                    let all = try h.dig(a, "_web.\(proto).service.consul", "SRV")
                    h.check(all.status == "NOERROR" && all.services == expectedSRV, "_web.\(proto) SRV is no tag filter: \(all)")
                }
                let noTag = try h.dig(a, "v9.web.service.consul")
                h.check(noTag.status == "NXDOMAIN" && noTag.answer.isEmpty && noTag.hasSOA("consul."),
                        "v9.web (no instance has the tag): NXDOMAIN with the SOA: \(noTag)")

                // Nodes and addresses.
                for agent in agents {
                    for name in ["\(agent.name).node.consul", "\(agent.name).node.dc1.consul"] {
                        let node = try h.dig(a, name)
                        h.check(node.status == "NOERROR" && node.addresses == [agent.ip], "\(name) A is \(agent.ip): \(node)")
                    }
                    let name = "\(Dig.hexLabel(agent.ip)).addr.dc1.consul"
                    let addr = try h.dig(a, name)
                    h.check(addr.status == "NOERROR" && addr.addresses == [agent.ip], "\(name) A is \(agent.ip): \(addr)")
                }

                // Negative answers.
                let nx = try h.dig(a, "nohost.service.consul")
                h.check(nx.status == "NXDOMAIN" && nx.flags.contains("aa") && nx.answer.isEmpty && nx.hasSOA("consul."),
                        "nohost.service.consul: NXDOMAIN with consul.'s SOA in AUTHORITY: \(nx)")
                let noNode = try h.dig(a, "nohost.node.consul")
                h.check(noNode.status == "NXDOMAIN" && noNode.hasSOA("consul."), "nohost.node.consul: NXDOMAIN with the SOA: \(noNode)")
                for type in ["TXT", "AAAA"] {
                    let noData = try h.dig(a, "web.service.consul", type)
                    h.check(noData.status == "NOERROR" && noData.answer.isEmpty && noData.hasSOA("consul."),
                            "web.service.consul \(type): NOERROR, no answer, the SOA in AUTHORITY: \(noData)")
                }
                let refused = try h.dig(a, "example.com")
                h.check(refused.status == "REFUSED" && refused.answer.isEmpty, "example.com (no recursors): REFUSED: \(refused)")
                let soa = try h.dig(a, "consul.", "SOA")
                h.check(soa.status == "NOERROR" && soa.answer.contains { $0.type == "SOA" && $0.name == "consul." },
                        "consul. SOA: answered: \(soa)")
                let ns = try h.dig(a, "consul.", "NS")
                h.check(ns.status == "NOERROR" && ns.answerData("NS") == [[Self.target(a)]],
                        "consul. NS: with no server in the datacenter, the answering agent itself: \(ns)")
                h.check(ns.additionalAddresses[Self.target(a)] == [a.ip], "consul. NS: the target's A record in ADDITIONAL: \(ns)")

                // 40 instances of big on b, each with its own address: cut over UDP, whole over TCP.
                var bigAddress: [Int: String] = [:]  // port -> address
                for i in 1...40 {
                    bigAddress[9000 + i] = "\(block).\(100 + i)"
                    try Self.register(h, b, #"{"Name":"big","ID":"big-\#(i)","Address":"\#(block).\#(100 + i)","Port":\#(9000 + i)}"#)
                }
                try h.eventually("\(a.name) answers big SRV over TCP with all 40 instances") {
                    let r = try h.dig(a, "big.service.consul", "SRV", ["+tcp"])
                    return (r.status == "NOERROR" && r.services.count == 40, "\(r)")
                }
                let allAddresses = bigAddress.values.sorted()
                let plainUDP = try h.dig(a, "big.service.consul", "A", ["+noedns", "+ignore"])
                h.check(plainUDP.status == "NOERROR" && plainUDP.truncated && (1...3).contains(plainUDP.answer.count)
                        && plainUDP.addresses.allSatisfy(allAddresses.contains),
                        "big A over UDP without EDNS0: TC and at most udp_answer_limit (3) answers: \(plainUDP)")
                let ednsSRV = try h.dig(a, "big.service.consul", "SRV", ["+ignore"])
                h.check(ednsSRV.status == "NOERROR" && ednsSRV.truncated && (1..<40).contains(ednsSRV.services.count),
                        "big SRV over UDP with EDNS0 (dig offers 1232): TC and fewer than 40 answers: \(ednsSRV)")
                let ednsA = try h.dig(a, "big.service.consul", "A", ["+ignore"])
                h.check(ednsA.status == "NOERROR" && !ednsA.truncated && ednsA.addresses == allAddresses,
                        "big A over UDP with EDNS0: the 40 addresses fit, no count limit, no TC: \(ednsA)")
                let tcpSRV = try h.dig(a, "big.service.consul", "SRV", ["+tcp"])
                let expectedBig = bigAddress.map { port, ip in
                    DigAnswer.SRV(priority: 1, weight: 1, port: port, target: "\(Dig.hexLabel(ip)).addr.dc1.consul.")
                }.sorted { ($0.target, $0.port) < ($1.target, $1.port) }
                h.check(tcpSRV.status == "NOERROR" && !tcpSRV.truncated && tcpSRV.services == expectedBig,
                        "big SRV over TCP: all 40, targets <hex>.addr.dc1.consul., no TC: \(tcpSRV)")
                let glue = tcpSRV.additionalAddresses
                h.check(bigAddress.allSatisfy { _, ip in glue["\(Dig.hexLabel(ip)).addr.dc1.consul."] == [ip] },
                        "big SRV over TCP: each target's A record in ADDITIONAL: \(tcpSRV)")
                let tcpA = try h.dig(a, "big.service.consul", "A", ["+tcp", "+noedns"])
                h.check(tcpA.status == "NOERROR" && !tcpA.truncated && tcpA.addresses == allAddresses,
                        "big A over TCP without EDNS0: all 40, no TC: \(tcpA)")

                // Changes made on c show up in a's answers.
                try Self.register(h, c, #"{"Name":"late","Port":7070}"#)
                try h.eventually("\(a.name) answers late.service.consul SRV registered on \(c.name)") {
                    let r = try h.dig(a, "late.service.consul", "SRV")
                    return (r.status == "NOERROR" && r.services == [DigAnswer.SRV(priority: 1, weight: 1, port: 7070, target: Self.target(c))]
                            && r.additionalAddresses[Self.target(c)] == [c.ip], "\(r)")
                }
                let fail = try HTTPClient.put(c.ip, c.ports.http, "/v1/agent/check/fail/service:web-\(c.name)?note=down")
                h.check(fail.status == 200, "TTL fail on \(c.name): \(fail)")
                try h.eventually("\(a.name) drops \(c.name)'s web once its check is critical") {
                    let r = try h.dig(a, "web.service.consul")
                    let s = try h.dig(a, "web.service.consul", "SRV")
                    return (r.addresses == [a.ip, b.ip].sorted() && s.services.map(\.target) == [a, b].map(Self.target), "\(r)\n\(s)")
                }
                let pass = try HTTPClient.put(c.ip, c.ports.http, "/v1/agent/check/pass/service:web-\(c.name)")
                h.check(pass.status == 200, "TTL pass on \(c.name): \(pass)")
                try h.eventually("\(a.name) answers \(c.name)'s web again once it passes") {
                    let r = try h.dig(a, "web.service.consul")
                    return (r.addresses == ips.sorted(), "\(r)")
                }
                let gone = try HTTPClient.put(c.ip, c.ports.http, "/v1/agent/service/deregister/late")
                h.check(gone.status == 200, "deregister late on \(c.name): \(gone)")
                try h.eventually("\(a.name) answers NXDOMAIN for late once \(c.name) deregistered it") {
                    let r = try h.dig(a, "late.service.consul", "SRV")
                    return (r.status == "NXDOMAIN" && r.answer.isEmpty && r.hasSOA("consul."), "\(r)")
                }
                try h.requireRunning(agents)
            }
        }

        @Test("malformed UDP and TCP packets get FORMERR with their ID or no answer; the agent keeps answering dig")
        func malformedPacketsLeaveTheServerAnswering() throws {
            try Harness.run("dns-malformed") { h in
                guard Dig.path != nil else { throw h.fail(Dig.missing) }
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [71, 81, 91, 101, 111], ports: h.ports)[0]
                let agent = h.addAgent(name: "dnsbad1", ip: ip, retryJoin: [])
                try h.start(agent)
                try h.eventually("\(agent.name) accepts a registration") {
                    let r = try? HTTPClient.put(agent.ip, agent.ports.http, "/v1/agent/service/register",
                                                body: Array(#"{"Name":"web","Port":8080}"#.utf8))
                    return (r?.status == 200, "\(String(describing: r))")
                }
                try h.eventually("\(agent.name) answers web.service.consul A") {
                    let r = try h.dig(agent, "web.service.consul")
                    return (r.status == "NOERROR" && r.addresses == [ip], "\(r)")
                }

                // Every packet below, then one good query over the same socket; the
                // exchange ends once the good answer and each expected FORMERR are
                // back. The server answers in order, so by then any answer to the
                // others has come too (no waiting for silence).
                var random = SeededRandom(seed: 0xD45)
                var blob = RawDNS.header(id: 0x3333, qd: 1)
                blob += (0..<(4000 - 12)).map { _ in UInt8.random(in: 0...255, using: &random) }
                var oversized = RawDNS.header(id: 0x4444, qd: 1)
                oversized += (0..<(5000 - 12)).map { _ in UInt8.random(in: 0...255, using: &random) }
                let cases: [(id: UInt16?, what: String, packet: [UInt8])] = [
                    (nil, "an empty datagram", []),
                    (0x1234, "5 bytes", [0x12, 0x34, 0x01, 0x00, 0x00]),
                    (0x1111, "a header claiming 5 questions and no data", RawDNS.header(id: 0x1111, qd: 5)),
                    (0x2222, "a question name that points at itself", RawDNS.header(id: 0x2222, qd: 1) + [0xc0, 0x0c, 0, 1, 0, 1]),
                    (0x2323, "two pointers pointing at each other", RawDNS.header(id: 0x2323, qd: 1) + [0xc0, 0x0e, 0xc0, 0x0c, 0, 1, 0, 1]),
                    (0x2424, "a label then a pointer back to it", RawDNS.header(id: 0x2424, qd: 1) + [3] + Array("web".utf8) + [0xc0, 0x0c, 0, 1, 0, 1]),
                    (0x2525, "a pointer past the end", RawDNS.header(id: 0x2525, qd: 1) + [0xc0, 0xff, 0, 1, 0, 1]),
                    (0x2626, "a reserved label type (0x40)", RawDNS.header(id: 0x2626, qd: 1) + [0x41, 0x61, 0, 0, 1, 0, 1]),
                    (0x2727, "a name of 300 bytes", RawDNS.header(id: 0x2727, qd: 1)
                        + Array(repeating: [UInt8]([1, 0x61]), count: 150).flatMap { $0 } + [0, 0, 1, 0, 1]),
                    (0x2828, "a question cut inside its type", RawDNS.header(id: 0x2828, qd: 1) + [3] + Array("web".utf8) + [0, 0]),
                    (0x3333, "4,000 random bytes behind a plausible header", blob),
                    (0x4444, "5,000 random bytes (more than the server reads)", oversized),
                    (0x5555, "a response (QR set) claiming 5 questions", RawDNS.header(id: 0x5555, flags: 0x8100, qd: 5)),
                ]
                var packets = cases.map(\.packet)
                // 200 random datagrams of up to 600 bytes, IDs 0x7000... (none of the above).
                for n in 0..<200 {
                    var packet = (0..<Int.random(in: 0...600, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    if packet.count >= 2 { packet[0] = 0x70 | UInt8(n >> 8); packet[1] = UInt8(n & 0xff) }
                    packets.append(packet)
                }
                let good = RawDNS.query(id: 0xABCD, name: "web.service.consul", type: 1)
                let formErr: Set<UInt16> = [0x1111, 0x2222, 0x2323, 0x2424, 0x2525, 0x2626, 0x2727, 0x2828]
                let (replies, error) = RawDNS.udpExchange(ip: ip, port: agent.ports.dns, packets: packets, final: good,
                                                          awaiting: formErr, timeout: 30)
                h.check(error == nil, "UDP exchange with \(agent.name): \(error ?? "")")
                let byID = Dictionary(grouping: replies.filter { $0.count >= 2 }, by: RawDNS.id)
                let goodReply = byID[0xABCD]?.first
                h.check(goodReply.map { RawDNS.isResponse($0) && RawDNS.rcode($0) == 0 && RawDNS.count($0, at: 6) == 1 } == true,
                        "the good query after the bad ones: NOERROR with one answer: \(goodReply.map(RawDNS.hex) ?? "no reply")")
                for (id, what, _) in cases {
                    guard let id else { continue }
                    let got = byID[id] ?? []
                    let shown = got.map(RawDNS.hex).joined(separator: " | ")
                    switch id {
                    case 0x1234, 0x5555:
                        h.check(got.isEmpty, "\(what): no answer (too short for a header / itself a response): \(shown)")
                    case _ where formErr.contains(id):
                        h.check(got.count == 1 && got.allSatisfy { RawDNS.isResponse($0) && RawDNS.rcode($0) == 1 },
                                "\(what): one FORMERR answer with ID \(RawDNS.hex16(id)): \(shown.isEmpty ? "no answer" : shown)")
                    default:
                        h.check(got.count <= 1 && got.allSatisfy { RawDNS.isResponse($0) && RawDNS.rcode($0) != 0 },
                                "\(what): no answer or one error answer with its ID: \(shown)")
                    }
                }
                h.check(replies.allSatisfy { $0.count >= 12 && RawDNS.isResponse($0) },
                        "every answer has a header with QR set: \(replies.filter { $0.count < 12 || !RawDNS.isResponse($0) }.map(RawDNS.hex))")

                // TCP: a malformed query gets FORMERR and the connection still serves;
                // a frame announcing more than it sends, and an empty frame, harm nothing.
                let loop = RawDNS.header(id: 0x6666, qd: 1) + [0xc0, 0x0c, 0, 1, 0, 1]
                let tcp = RawDNS.tcpExchange(ip: ip, port: agent.ports.dns,
                                             frames: [loop, RawDNS.query(id: 0x6767, name: "web.service.consul", type: 1)], timeout: 20)
                h.check(tcp.error == nil && tcp.replies.count == 2, "TCP: two framed answers: \(tcp.error ?? "") \(tcp.replies.map(RawDNS.hex))")
                if tcp.replies.count == 2 {
                    let (bad, ok) = (tcp.replies[0], tcp.replies[1])
                    h.check(RawDNS.id(bad) == 0x6666 && RawDNS.isResponse(bad) && RawDNS.rcode(bad) == 1,
                            "TCP: the pointer loop gets FORMERR with its ID: \(RawDNS.hex(bad))")
                    h.check(RawDNS.id(ok) == 0x6767 && RawDNS.rcode(ok) == 0 && RawDNS.count(ok, at: 6) == 1,
                            "TCP: the next query on the same connection is answered: \(RawDNS.hex(ok))")
                }
                let short = RawDNS.tcpExchange(ip: ip, port: agent.ports.dns, raw: [0xff, 0xff] + Array(repeating: 0, count: 10), timeout: 1)
                h.check(short.replies.isEmpty, "TCP: a frame announcing 65535 bytes and sending 10 gets no answer: \(short.replies.map(RawDNS.hex))")
                let empty = RawDNS.tcpExchange(ip: ip, port: agent.ports.dns, raw: [0, 0], timeout: 15)
                h.check(empty.replies.isEmpty, "TCP: an empty frame gets no answer: \(empty.replies.map(RawDNS.hex))")

                // Still alive, still right.
                try h.requireRunning([agent])
                for options in [[], ["+tcp"], ["+noedns"]] {
                    let r = try h.dig(agent, "web.service.consul", "A", options)
                    h.check(r.status == "NOERROR" && r.addresses == [ip], "after the bad packets, dig \(options) web A: \(r)")
                }
                let nx = try h.dig(agent, "nohost.service.consul")
                h.check(nx.status == "NXDOMAIN" && nx.hasSOA("consul."), "after the bad packets, NXDOMAIN still: \(nx)")
                try h.requireRunning([agent])
            }
        }
    }
}

/// Hand-made DNS packets and blocking loopback exchanges, for what dig
/// will not send.
enum RawDNS {
    static func header(id: UInt16, flags: UInt16 = 0x0100, qd: UInt16) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xff), UInt8(flags >> 8), UInt8(flags & 0xff), UInt8(qd >> 8), UInt8(qd & 0xff), 0, 0, 0, 0, 0, 0]
    }

    /// A standard query, RD set, class IN, no EDNS0.
    static func query(id: UInt16, name: String, type: UInt16) -> [UInt8] {
        var bytes = header(id: id, qd: 1)
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        bytes += [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
        return bytes
    }

    static func id(_ packet: [UInt8]) -> UInt16 { UInt16(packet[0]) << 8 | UInt16(packet[1]) }
    static func isResponse(_ packet: [UInt8]) -> Bool { packet.count >= 12 && packet[2] & 0x80 != 0 }
    static func rcode(_ packet: [UInt8]) -> Int { packet.count >= 4 ? Int(packet[3] & 0x0f) : -1 }
    /// The 16-bit count at `offset` (4 questions, 6 answers, 8 authority, 10 additional).
    static func count(_ packet: [UInt8], at offset: Int) -> Int {
        packet.count >= offset + 2 ? Int(packet[offset]) << 8 | Int(packet[offset + 1]) : -1
    }

    static func hex16(_ value: UInt16) -> String { hex([UInt8(value >> 8), UInt8(value & 0xff)]) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        let shown = bytes.prefix(64).map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xf)]]) }.joined()
        return bytes.count > 64 ? "\(shown)...(\(bytes.count) bytes)" : shown
    }

    private static func connectedSocket(ip: String, port: UInt16, type: Int32, receiveTimeout: Double) -> (Int32, String?) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return (-1, "bad address \(ip)") }
        let fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return (-1, "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            return (-1, "connect \(ip):\(port): \(text)")
        }
        return (fd, nil)
    }

    /// Sends `packets` then `final` from one UDP socket and collects every
    /// datagram that comes back until the answer to `final` and answers
    /// with each of the `awaiting` IDs (matched by ID) have arrived;
    /// `final` is sent again every 2 s, up to `timeout`.
    static func udpExchange(ip: String, port: UInt16, packets: [[UInt8]], final: [UInt8], awaiting: Set<UInt16> = [],
                            timeout: Double) -> ([[UInt8]], String?) {
        let (fd, error) = connectedSocket(ip: ip, port: port, type: Int32(SOCK_DGRAM.rawValue), receiveTimeout: 0.5)
        guard fd >= 0 else { return ([], error) }
        defer { close(fd) }
        func send(_ packet: [UInt8]) -> String? {
            let n = packet.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            return n == packet.count ? nil : "send \(packet.count) bytes: \(String(cString: strerror(errno)))"
        }
        for packet in packets {
            if let error = send(packet) { return ([], error) }
        }
        if let error = send(final) { return ([], error) }
        var replies: [[UInt8]] = []
        var missing = awaiting.union([id(final)])
        var buffer = [UInt8](repeating: 0, count: 65536)
        let start = Clock.now
        var sent = start
        while Clock.now - start < timeout {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 {
                let reply = Array(buffer[0..<n])
                replies.append(reply)
                if reply.count >= 2 { missing.remove(id(reply)) }
                if missing.isEmpty { return (replies, nil) }
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                if missing.contains(id(final)) && Clock.now - sent > 2 {
                    sent = Clock.now
                    if let error = send(final) { return (replies, error) }
                }
            } else {
                return (replies, "recv: \(String(cString: strerror(errno)))")
            }
        }
        return (replies, "within \(Int(timeout)) s, no answer with ID \(missing.sorted().map(hex16).joined(separator: ", "))")
    }

    /// Sends each frame with its 2-byte length on one TCP connection and
    /// reads as many framed answers.
    static func tcpExchange(ip: String, port: UInt16, frames: [[UInt8]], timeout: Double) -> (replies: [[UInt8]], error: String?) {
        let raw = frames.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xff)] + $0 }
        return tcpExchange(ip: ip, port: port, raw: raw, expecting: frames.count, timeout: timeout)
    }

    /// Sends `raw` as it is on a TCP connection and reads framed answers
    /// until `expecting` came, the server closed, or `timeout` passed.
    static func tcpExchange(ip: String, port: UInt16, raw: [UInt8], expecting: Int = 1,
                            timeout: Double) -> (replies: [[UInt8]], error: String?) {
        let (fd, error) = connectedSocket(ip: ip, port: port, type: Int32(SOCK_STREAM.rawValue), receiveTimeout: timeout)
        guard fd >= 0 else { return ([], error) }
        defer { close(fd) }
        let n = raw.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == raw.count else { return ([], "send: \(String(cString: strerror(errno)))") }
        var pending: [UInt8] = []
        var replies: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while replies.count < expecting {
            while pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                guard pending.count >= 2 + length else { break }
                replies.append(Array(pending[2..<(2 + length)]))
                pending.removeFirst(2 + length)
            }
            if replies.count >= expecting { break }
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got > 0 {
                pending += buffer[0..<got]
            } else if got == 0 {
                return (replies, pending.isEmpty ? nil : "closed after \(pending.count) bytes of a frame")
            } else if errno == EINTR {
                continue
            } else {
                return (replies, "recv: \(String(cString: strerror(errno)))")
            }
        }
        return (replies, nil)
    }
}
