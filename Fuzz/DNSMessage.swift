// DNS queries from any client of the DNS port (UDP and TCP) and answers
// from recursors: the codec (DNSMessage.decode, names with compression
// pointers, EDNS0), then the whole responder over a small catalog. Every
// reply must decode, and a UDP reply with records must fit the size the
// query allows (an oversized UDP answer is an amplifier).
import Agent
import DNSServer

let snapshot: DNSSnapshot = {
    var web = Catalog.NodeRecord(node: "n1", address: "10.0.0.1", datacenter: "dc1", owner: "n1")
    web.services = [Catalog.Service(id: "web1", name: "web", tags: ["v1"], port: 8080),
                    Catalog.Service(id: "db1", name: "db", address: "fd00::5", port: 5432)]
    web.checks = [Catalog.Check(id: "service:web1", name: "web", status: .passing, serviceID: "web1", serviceName: "web")]
    let other = Catalog.NodeRecord(node: "n2", address: "10.0.0.2", datacenter: "dc1", owner: "n2",
                                   services: (0..<40).map { Catalog.Service(id: "web-\($0)", name: "web", port: 9000 + $0) })
    return DNSSnapshot.build(records: [web, other], datacenter: "dc1", servers: ["n1"], serial: 1) { _ in true }
}()

func fuzz(_ bytes: [UInt8]) {
    if let message = try? DNSMessage.decode(bytes) {
        fuzzRoundTrip(message, "DNS message", encode: { $0.encode().bytes }, decode: DNSMessage.decode)
        let (cut, _) = message.encode(limit: bytes.count % 600)
        fuzzRequire((try? DNSMessage.decode(cut)) != nil, "a message encoded under a limit does not decode")
    }
    var responder = DNSResponder(settings: DNSResponderSettings(), seed: 7)
    for transport in [DNSTransport.udp, .tcp, .udp] {  // the second UDP answer may come from the cache
        guard case .reply(let reply) = responder.respond(to: bytes, snapshot: snapshot, transport: transport) else { continue }
        guard let answer = try? DNSMessage.decode(reply) else { fuzzFail("the reply does not decode: \(reply)") }
        fuzzRequire(answer.header.isResponse, "a reply that is not a response")
        if transport == .udp, let query = try? DNSMessage.decode(bytes) {
            let limit = query.edns.map { max(512, Int($0.udpPayloadSize)) } ?? 512
            let records = answer.answers.count + answer.authority.count + answer.additional.count
            fuzzRequire(reply.count <= limit || records == 0, "a UDP reply of \(reply.count) bytes for a limit of \(limit)")
        }
    }
    _ = responder.datacenterFailure(bytes, noPath: true, transport: .udp)
}

func fuzzSeeds() -> [[UInt8]] {
    func query(_ name: String, _ type: DNSType, edns: UInt16? = nil) -> [UInt8] {
        var m = DNSMessage(header: DNSHeader(id: 0x1234), questions: [DNSQuestion(name: DNSName(name)!, type: type)])
        m.header.recursionDesired = true
        if let edns { m.edns = EDNS(udpPayloadSize: edns) }
        return m.encode().bytes
    }
    var response = DNSMessage(header: DNSHeader(id: 9), questions: [DNSQuestion(name: DNSName("web.service.consul")!, type: .srv)])
    response.header.isResponse = true
    let target = DNSName("n1.node.dc1.consul")!
    response.answers = [DNSRecord(name: DNSName("web.service.consul")!, ttl: 0, data: .srv(priority: 1, weight: 1, port: 8080, target: target))]
    response.additional = [DNSRecord(name: target, ttl: 0, data: .a(0x0A00_0001)),
                           DNSRecord(name: target, ttl: 0, data: .txt([Array("consul-network-segment=".utf8)]))]
    response.authority = [DNSRecord(name: DNSName("consul")!, ttl: 0, data: .soa(DNSSOA(
        mname: DNSName("ns.consul")!, rname: DNSName("hostmaster.consul")!, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 0)))]
    return [
        query("web.service.consul", .srv, edns: 1232),
        query("v1.web.service.dc1.consul", .a),
        query("_web._tcp.service.consul", .srv),
        query("n1.node.consul", .aaaa, edns: 4096),
        query("0a000001.addr.dc1.consul", .a),
        query("1.0.0.10.in-addr.arpa", .ptr),
        query("web.service.dc2.consul", .any),
        query("example.com", .mx),
        response.encode().bytes,
    ]
}
