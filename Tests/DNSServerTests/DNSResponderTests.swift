import Agent
@testable import DNSServer
import Testing

/// The responder against a fixed catalog: Consul's query forms, health,
/// negative answers, truncation and the error codes.
@Suite struct DNSResponderTests {
    /// web on n1, n2, n3 (n3 warning, tagged v2) and n6 (critical); db on n4
    /// with its own address; n5 runs an agent that is not live.
    static let snapshot: DNSSnapshot = {
        func node(_ i: Int, meta: [String: String] = [:]) -> Catalog.NodeRecord {
            Catalog.NodeRecord(node: "n\(i)", address: "127.0.10.\(i)", datacenter: "dc1", meta: meta, owner: "n\(i)")
        }
        func service(_ r: inout Catalog.NodeRecord, _ name: String, tags: [String] = [], address: String = "",
                     port: Int, status: Catalog.HealthStatus = .passing) {
            let id = "\(name)-\(r.node)"
            r.services.append(Catalog.Service(id: id, name: name, tags: tags, address: address, port: port,
                                              weights: .init(passing: 10, warning: 1)))
            r.checks.append(Catalog.Check(id: "service:\(id)", name: "check", status: status, serviceID: id, serviceName: name))
        }
        var records: [Catalog.NodeRecord] = []
        for i in 1...6 {
            var r = node(i, meta: i == 1 ? ["rack": "r1"] : [:])
            switch i {
            case 1, 2: service(&r, "web", tags: ["v1"], port: 8080)
            case 3: service(&r, "web", tags: ["v2"], port: 8080, status: .warning)
            case 4: service(&r, "db", address: "10.1.2.3", port: 5432)
            case 5: service(&r, "cache", port: 6379)
            default: service(&r, "web", tags: ["v1"], port: 8080, status: .critical)
            }
            records.append(r)
        }
        return DNSSnapshot.build(records: records, datacenter: "dc1", servers: ["n1"], serial: 7) { r in r.node != "n5" }
    }()

    static func ask(_ name: String, _ type: DNSType, settings: DNSResponderSettings = DNSResponderSettings(),
                    edns: EDNS? = EDNS(udpPayloadSize: 1232), transport: DNSTransport = .udp) throws -> DNSMessage {
        var query = DNSMessage(header: DNSHeader(id: 0x1234), questions: [DNSQuestion(name: try #require(DNSName(name)), type: type)])
        query.header.recursionDesired = true
        query.edns = edns
        var responder = DNSResponder(settings: settings, seed: 42)
        guard case .reply(let bytes) = responder.respond(to: query.encode().bytes, snapshot: snapshot, transport: transport) else {
            Issue.record("no reply to \(name) \(type)")
            return DNSMessage()
        }
        return try DNSMessage.decode(bytes)
    }

    static func addresses(_ m: DNSMessage) -> [String] {
        m.answers.compactMap { r -> String? in
            guard case .a(let ip) = r.data else { return nil }
            return "\(ip >> 24).\(ip >> 16 & 0xff).\(ip >> 8 & 0xff).\(ip & 0xff)"
        }.sorted()
    }

    @Test func serviceAddressesLeaveCriticalInstancesOut() throws {
        let r = try Self.ask("web.service.consul", .a)
        #expect(r.header.rcode == .noError && r.header.authoritative && r.header.isResponse && r.header.id == 0x1234)
        #expect(Self.addresses(r) == ["127.0.10.1", "127.0.10.2", "127.0.10.3"], "n6 is critical")
        #expect(r.answers.allSatisfy { $0.ttl == 0 && $0.name == DNSName("web.service.consul.") })
        #expect(!r.header.recursionAvailable, "no recursors")
        let dc = try Self.ask("WEB.Service.DC1.consul", .a)
        #expect(Self.addresses(dc) == Self.addresses(r), "datacenter label and any case")
        #expect(dc.questions.first?.name.description == "WEB.Service.DC1.consul.", "the question is echoed as asked")
    }

    @Test func onlyPassingDropsWarningInstances() throws {
        var settings = DNSResponderSettings()
        settings.onlyPassing = true
        #expect(Self.addresses(try Self.ask("web.service.consul", .a, settings: settings)) == ["127.0.10.1", "127.0.10.2"])
    }

    @Test func srvCarriesWeightsTargetsAndTheirAddresses() throws {
        let r = try Self.ask("web.service.consul", .srv)
        var seen: [String: UInt16] = [:]
        for record in r.answers {
            guard case .srv(let priority, let weight, let port, let target) = record.data else { continue }
            #expect(priority == 1 && port == 8080)
            seen[target.description] = weight
        }
        #expect(seen == ["n1.node.dc1.consul.": 10, "n2.node.dc1.consul.": 10, "n3.node.dc1.consul.": 1],
                "warning instances carry the warning weight")
        #expect(Set(r.additional.map(\.name.description)) == Set(seen.keys), "each target's A record is in ADDITIONAL")

        let own = try Self.ask("db.service.consul", .srv)
        guard case .srv(_, _, _, let target)? = own.answers.first?.data else {
            Issue.record("no SRV for db: \(own)")
            return
        }
        #expect(target.description == "0a010203.addr.dc1.consul.", "a service with its own address targets <hex>.addr")
        #expect(own.additional.first?.data == .a(0x0a01_0203))
    }

    @Test func tagAndRFC2782Forms() throws {
        #expect(Self.addresses(try Self.ask("v1.web.service.consul", .a)) == ["127.0.10.1", "127.0.10.2"])
        #expect(try Self.ask("_web._v2.service.consul", .srv).answers.count == 1)
        #expect(try Self.ask("_web._tcp.service.consul", .srv).answers.count == 3, "_tcp means no tag filter")
        #expect(try Self.ask("v9.web.service.consul", .a).header.rcode == .nxDomain)
    }

    @Test func nodeAndAddressLookups() throws {
        #expect(Self.addresses(try Self.ask("n2.node.consul", .a)) == ["127.0.10.2"])
        #expect(Self.addresses(try Self.ask("N2.node.dc1.consul", .a)) == ["127.0.10.2"])
        let txt = try Self.ask("n1.node.consul", .txt)
        #expect(txt.answers.first?.data == .txt([Array("rack=r1".utf8)]))
        #expect(Self.addresses(try Self.ask("7f000001.addr.dc1.consul", .a)) == ["127.0.0.1"])
        let v6 = try Self.ask("20010db8000000000000000000000001.addr.dc1.consul", .aaaa)
        #expect(v6.answers.first?.data == .aaaa([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]))
        #expect(try Self.ask("nobody.node.consul", .a).header.rcode == .nxDomain)
    }

    @Test func anAgentThatIsNotLiveTakesItsServicesOut() throws {
        #expect(try Self.ask("cache.service.consul", .a).header.rcode == .nxDomain)
        #expect(Self.addresses(try Self.ask("n5.node.consul", .a)) == ["127.0.10.5"], "node lookups ignore health, as Consul's")
    }

    @Test func negativeAnswersCarryTheSOA() throws {
        let missing = try Self.ask("nohost.service.consul", .a)
        #expect(missing.header.rcode == .nxDomain && missing.answers.isEmpty)
        guard case .soa(let soa)? = missing.authority.first?.data else {
            Issue.record("no SOA: \(missing)")
            return
        }
        #expect(soa.mname.description == "ns.consul." && soa.rname.description == "hostmaster.consul." && soa.serial == 7)
        #expect(missing.authority.first?.name.description == "consul.")

        let noData = try Self.ask("web.service.consul", .mx)
        #expect(noData.header.rcode == .noError && noData.answers.isEmpty && noData.authority.first?.type == .soa,
                "a known name without the type: NOERROR and the SOA")
        #expect(try Self.ask("foo.bar.consul", .a).header.rcode == .nxDomain, "an unknown form inside the domain")
        #expect(try Self.ask("web.service.dc9.consul", .a).header.rcode == .nxDomain, "another datacenter, until federation")
    }

    @Test func otherDatacentersAreAskedWhenFederated() throws {
        var settings = DNSResponderSettings()
        settings.federated = true
        var responder = DNSResponder(settings: settings, seed: 1)
        for (name, dc) in [("web.service.dc2.consul", "dc2"), ("s1.node.DC3.consul", "dc3"), ("0a000001.addr.dc2.consul", "dc2")] {
            let query = DNSMessage(header: DNSHeader(id: 5), questions: [DNSQuestion(name: DNSName(name)!, type: .a)]).encode().bytes
            #expect(responder.respond(to: query, snapshot: Self.snapshot, transport: .udp) == .forwardToDatacenter(dc), "\(name)")
        }
        let local = DNSMessage(questions: [DNSQuestion(name: DNSName("web.service.dc1.consul")!, type: .a)]).encode().bytes
        guard case .reply = responder.respond(to: local, snapshot: Self.snapshot, transport: .udp) else {
            Issue.record("our own datacenter is answered here")
            return
        }
        let query = DNSMessage(header: DNSHeader(id: 6), questions: [DNSQuestion(name: DNSName("web.service.dc9.consul")!, type: .a)]).encode().bytes
        let noPath = try DNSMessage.decode(try #require(responder.datacenterFailure(query, noPath: true, transport: .udp)))
        #expect(noPath.header.id == 6 && noPath.header.rcode == .nxDomain && noPath.authority.first?.type == .soa)
        let failed = try DNSMessage.decode(try #require(responder.datacenterFailure(query, noPath: false, transport: .udp)))
        #expect(failed.header.rcode == .servFail)
    }

    @Test func apexAnswersSOAAndNS() throws {
        let soa = try Self.ask("consul", .soa)
        #expect(soa.answers.first?.type == .soa)
        let ns = try Self.ask("consul", .ns)
        #expect(ns.answers.first?.data == .ns(DNSName("n1.node.dc1.consul.")!))
        #expect(ns.additional.first?.data == .a(0x7f00_0a01), "glue")
    }

    @Test func altDomainAnswersInItsOwnName() throws {
        var settings = DNSResponderSettings()
        settings.domains.append(DNSName("cluster.example.")!)
        let r = try Self.ask("web.service.cluster.example", .srv, settings: settings)
        #expect(r.answers.count == 3)
        #expect(r.additional.allSatisfy { $0.name.hasSuffix(DNSName("cluster.example.")!) })
    }

    @Test func namesOutsideTheDomainAreRefusedOrForwarded() throws {
        #expect(try Self.ask("example.com", .a).header.rcode == .refused)
        var settings = DNSResponderSettings()
        settings.recursionAvailable = true
        var responder = DNSResponder(settings: settings, seed: 1)
        let query = DNSMessage(header: DNSHeader(id: 9), questions: [DNSQuestion(name: DNSName("example.com")!, type: .a)])
        guard case .forward(let forwarded) = responder.respond(to: query.encode().bytes, snapshot: Self.snapshot, transport: .udp) else {
            Issue.record("not forwarded")
            return
        }
        #expect(forwarded.header.id == 9)
    }

    @Test func badQueriesGetTheirErrorCodes() throws {
        var responder = DNSResponder(settings: DNSResponderSettings(), seed: 1)
        func rcode(_ m: DNSMessage) throws -> DNSRcode {
            guard case .reply(let bytes) = responder.respond(to: m.encode().bytes, snapshot: Self.snapshot, transport: .udp) else { return DNSRcode(rawValue: 999) }
            return try DNSMessage.decode(bytes).header.rcode
        }
        let q = DNSQuestion(name: DNSName("web.service.consul")!, type: .a)
        var notify = DNSMessage(questions: [q])
        notify.header.opcode = 4
        #expect(try rcode(notify) == .notImp)
        #expect(try rcode(DNSMessage(questions: [q, q])) == .formErr)
        #expect(try rcode(DNSMessage(questions: [q], edns: EDNS(version: 1))) == .badVers)
        #expect(try rcode(DNSMessage(questions: [DNSQuestion(name: q.name, type: .a, qclass: DNSClass(rawValue: 3))])) == .refused)

        // A header we can read but a body we cannot: FORMERR with the same ID.
        let garbage: [UInt8] = [0xab, 0xcd, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0xff]
        guard case .reply(let bytes) = responder.respond(to: garbage, snapshot: Self.snapshot, transport: .udp) else {
            Issue.record("no FORMERR")
            return
        }
        let formErr = try DNSMessage.decode(bytes)
        #expect(formErr.header.id == 0xabcd && formErr.header.rcode == .formErr)
        #expect(responder.respond(to: [1, 2, 3], snapshot: Self.snapshot, transport: .udp) == .drop)
        var response = DNSMessage(questions: [q])
        response.header.isResponse = true
        #expect(responder.respond(to: response.encode().bytes, snapshot: Self.snapshot, transport: .udp) == .drop,
                "never answer an answer (no reflection loops)")
    }

    @Test func shuffledPerQuery() throws {
        var responder = DNSResponder(settings: DNSResponderSettings(), seed: 3)
        let query = DNSMessage(questions: [DNSQuestion(name: DNSName("web.service.consul")!, type: .a)]).encode().bytes
        var orders = Set<[DNSRecord.ID]>()
        for _ in 0..<50 {
            guard case .reply(let bytes) = responder.respond(to: query, snapshot: Self.snapshot, transport: .udp) else { continue }
            orders.insert(try DNSMessage.decode(bytes).answers.map(\.id))
        }
        #expect(orders.count > 1, "the order changes between queries")
    }
}

/// Truncation over UDP: what does not fit is cut, with TC; TCP has it all.
@Suite struct DNSTruncationTests {
    static let big: DNSSnapshot = {
        var r = Catalog.NodeRecord(node: "host", address: "127.0.20.1", datacenter: "dc1", owner: "host")
        for i in 0..<40 {
            r.services.append(Catalog.Service(id: "big-\(i)", name: "big", address: "10.0.\(i / 250).\(i % 250 + 1)", port: 9000 + i))
        }
        return DNSSnapshot.build(records: [r], datacenter: "dc1", servers: [], serial: 1) { _ in true }
    }()

    static func ask(_ type: DNSType, edns: EDNS?, transport: DNSTransport, settings: DNSResponderSettings = DNSResponderSettings()) throws -> (DNSMessage, Int) {
        let query = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: DNSName("big.service.consul")!, type: type)], edns: edns)
        var responder = DNSResponder(settings: settings, seed: 5)
        guard case .reply(let bytes) = responder.respond(to: query.encode().bytes, snapshot: big, transport: transport) else {
            throw DNSDecodeError("no reply")
        }
        return (try DNSMessage.decode(bytes), bytes.count)
    }

    @Test func withoutEDNSTheAnswerLimitAndTCApply() throws {
        let (m, size) = try Self.ask(.a, edns: nil, transport: .udp)
        #expect(m.header.truncated && m.answers.count == 3 && size <= 512)
    }

    @Test func ednsSizeCutsWithTC() throws {
        let (m, size) = try Self.ask(.srv, edns: EDNS(udpPayloadSize: 1232), transport: .udp)
        #expect(m.header.truncated && m.answers.count < 40 && size <= 1232)
        #expect(m.additional.count == m.answers.count, "every SRV answer kept keeps its target's address, as Consul trims")
        let (all, _) = try Self.ask(.a, edns: EDNS(udpPayloadSize: 1232), transport: .udp)
        #expect(!all.header.truncated && all.answers.count == 40, "40 A records fit in 1232 bytes")
    }

    @Test func tcpCarriesEverything() throws {
        let (m, _) = try Self.ask(.srv, edns: nil, transport: .tcp)
        #expect(!m.header.truncated && m.answers.count == 40 && m.additional.count == 40)
    }

    @Test func truncationCanBeTurnedOff() throws {
        var settings = DNSResponderSettings()
        settings.enableTruncate = false
        let (m, _) = try Self.ask(.srv, edns: EDNS(udpPayloadSize: 1232), transport: .udp, settings: settings)
        #expect(!m.header.truncated && m.answers.count < 40)
    }

    @Test func aRecordLimitAppliesEverywhere() throws {
        var settings = DNSResponderSettings()
        settings.aRecordLimit = 5
        let (m, _) = try Self.ask(.a, edns: nil, transport: .tcp, settings: settings)
        #expect(m.answers.count == 5 && !m.header.truncated)
    }
}

/// Repeated questions are answered from encoded answers cached per snapshot.
@Suite struct DNSAnswerCacheTests {
    static func query(_ name: String, _ type: DNSType, id: UInt16, edns: EDNS? = nil) -> [UInt8] {
        var m = DNSMessage(header: DNSHeader(id: id), questions: [DNSQuestion(name: DNSName(name)!, type: type)], edns: edns)
        m.header.recursionDesired = id % 2 == 0
        return m.encode().bytes
    }

    static func reply(_ responder: inout DNSResponder, _ bytes: [UInt8], _ snapshot: DNSSnapshot = DNSResponderTests.snapshot) throws -> DNSMessage {
        guard case .reply(let answer) = responder.respond(to: bytes, snapshot: snapshot, transport: .udp) else {
            throw DNSDecodeError("no reply")
        }
        return try DNSMessage.decode(answer)
    }

    @Test func hitsAnswerEachQueryAsAsked() throws {
        var responder = DNSResponder(settings: DNSResponderSettings(), seed: 11)
        let first = try Self.reply(&responder, Self.query("web.service.consul", .a, id: 1))
        #expect(responder.cache.count == 1)
        for id in UInt16(2)...20 {
            let name = id % 3 == 0 ? "WEB.service.Consul" : "web.service.consul"
            let m = try Self.reply(&responder, Self.query(name, .a, id: id))
            #expect(m.header.id == id && m.header.recursionDesired == (id % 2 == 0))
            #expect(m.questions.first?.name.description == name + ".", "the question's spelling is echoed")
            #expect(DNSResponderTests.addresses(m) == DNSResponderTests.addresses(first))
        }
        for id in UInt16(30)...40 {
            let m = try Self.reply(&responder, Self.query("_web._tcp.service.consul", .srv, id: id, edns: EDNS()))
            #expect(m.header.id == id && m.answers.count == 3 && m.additional.count == 3)
        }
    }

    @Test func aNewSnapshotIsAnsweredAfresh() throws {
        var responder = DNSResponder(settings: DNSResponderSettings(), seed: 11)
        _ = try Self.reply(&responder, Self.query("web.service.consul", .a, id: 1))
        let empty = DNSSnapshot.build(records: [], datacenter: "dc1", servers: [], serial: 2) { _ in true }
        #expect(try Self.reply(&responder, Self.query("web.service.consul", .a, id: 2), empty).header.rcode == .nxDomain)
    }

    @Test func cutAnswersAreNotCachedSoEveryRecordGetsItsTurn() throws {
        var responder = DNSResponder(settings: DNSResponderSettings(), seed: 11)
        var seen = Set<String>()
        for id in UInt16(1)...200 {
            let m = try Self.reply(&responder, Self.query("big.service.consul", .a, id: id), DNSTruncationTests.big)
            #expect(m.header.truncated && m.answers.count == 3)
            seen.formUnion(m.answers.map { "\($0.data)" })
        }
        #expect(seen.count > 30, "the 3 records kept differ between queries: \(seen.count) of 40 seen")
        #expect(responder.cache.count == 0)
    }
}

extension DNSRecord {
    /// Identity for order comparisons.
    typealias ID = String
    var id: String { "\(name) \(data)" }
}
