@testable import Agent
@testable import CatalogCore
import JSON
import Testing

@Suite struct ServiceDefinitionTests {
    static func parse(_ text: String) -> Result<(Catalog.Service, [Catalog.Check]), ServiceDefinition.Invalid> {
        ServiceDefinition.parse(Array(text.utf8))
    }

    @Test func consulAndSnakeCaseKeysGiveTheSameService() throws {
        let camel = try Self.parse(#"{"Name":"web","ID":"web-1","Tags":["a"],"Port":80,"Meta":{"k":"v"},"EnableTagOverride":true}"#).get()
        let snake = try Self.parse(#"{"name":"web","id":"web-1","tags":["a"],"port":80,"meta":{"k":"v"},"enable_tag_override":true}"#).get()
        #expect(camel.0 == snake.0)
        #expect(camel.0.port == 80 && camel.0.meta == ["k": "v"] && camel.0.enableTagOverride)
    }

    @Test func checkIDsFollowConsul() throws {
        let one = try Self.parse(#"{"Name":"web","Check":{"TTL":"10s"}}"#).get().1
        #expect(one.map(\.id) == ["service:web"])
        #expect(one.first?.status == .critical, "new checks start critical")
        let two = try Self.parse(#"{"Name":"web","ID":"w1","Checks":[{"TTL":"10s"},{"TTL":"5s","Status":"passing"}]}"#).get().1
        #expect(two.map(\.id) == ["service:w1:1", "service:w1:2"])
        #expect(two.last?.status == .passing)
    }

    @Test func badDefinitionsAreClearErrors() {
        let cases: [(String, String)] = [
            (#"{"Port":1}"#, "Missing service name"),
            (#"{"Name":"web","Port":"80"}"#, "Port"),
            (#"{"Name":"web","Port":70000}"#, "Port"),
            (#"{"Name":"web","Tags":"a"}"#, "Tags"),
            (#"{"Name":"web","Check":{"TTL":"soon"}}"#, "TTL"),
            (#"{"Name":"web","Check":{"GRPC":"127.0.0.1:9000","Interval":"10s"}}"#, "not supported"),
            (#"{"Name":"web","Check":{"HTTP":"ftp://x","Interval":"10s"}}"#, "http:// or https://"),
            (#"{"Name":"web","Check":{"TTL":"5s","Status":"great"}}"#, "status"),
            (#"{"Name":"web","Check":{"TTL":"5s","DeregisterCriticalServiceAfter":"soon"}}"#, "DeregisterCriticalServiceAfter"),
            (#"{"Name":"web""#, "decode"),
            (#"[1,2]"#, "object"),
        ]
        for (body, mention) in cases {
            switch Self.parse(body) {
            case .success: Issue.record("\(body) should be refused")
            case .failure(let e): #expect(e.description.contains(mention), "\(body): \(e)")
            }
        }
    }

    /// Every field is bounded on input, so what is accepted is written whole
    /// and read back by peers; at the limits a definition is accepted and
    /// round-trips through the record codec unchanged.
    @Test func definitionsAtTheLimitsRoundTripAndPastThemAreRefusedNamingTheField() throws {
        let meta = (0..<64).map { "\"k\($0)\":\"\(String(repeating: "v", count: 512))\"" }.joined(separator: ",")
        let tags = (0..<256).map { "\"\(String(repeating: "t", count: 511))\($0 % 10)\"" }.joined(separator: ",")
        let body = #"{"Name":"\#(String(repeating: "n", count: 512))","Tags":[\#(tags)],"Meta":{\#(meta)}}"#
        guard case .success(let (service, _)) = Self.parse(body) else { Issue.record("the limits themselves are allowed"); return }
        var record = Catalog.NodeRecord(node: "n1", address: "10.0.0.1", datacenter: "dc1", owner: "n1")
        record.services = [service]
        #expect(try Catalog.RecordCodec.decode(Catalog.RecordCodec.encode(record)) == record)
        let refused: [(String, String)] = [
            (#"{"Name":"\#(String(repeating: "n", count: 513))"}"#, "Service.Name"),
            (#"{"Name":"web","ID":"\#(String(repeating: "i", count: 513))"}"#, "Service.ID"),
            (#"{"Name":"web","Tags":[\#((0..<257).map { "\"t\($0)\"" }.joined(separator: ","))]}"#, "Service.Tags"),
            (#"{"Name":"web","Meta":{\#(meta),"one":"more"}}"#, "Service.Meta"),
            (#"{"Name":"web","Meta":{"k":"\#(String(repeating: "v", count: 513))"}}"#, "Service.Meta"),
            (#"{"Name":"web","Meta":{"\#(String(repeating: "k", count: 129))":"v"}}"#, "too long"),
            (#"{"Name":"web","Check":{"TTL":"5s","Name":"\#(String(repeating: "c", count: 600))"}}"#, "Check.Name"),
        ]
        for (body, mention) in refused {
            switch Self.parse(body) {
            case .success: Issue.record("\(body.prefix(80)) should be refused")
            case .failure(let e): #expect(e.description.contains(mention), "\(body.prefix(80)): \(e)")
            }
        }
    }

    /// A string past the wire's 64 KiB is cut at a character boundary, so
    /// the record still decodes (it used to be cut inside a UTF-8 sequence).
    @Test func aStringPastTheWireLimitIsCutAtACharacterBoundary() throws {
        var record = Catalog.NodeRecord(node: "n1", address: "10.0.0.1", datacenter: "dc1", owner: "n1")
        record.meta["long"] = String(repeating: "é", count: 40_000)  // 80,000 bytes: byte 65,535 is inside an "é"
        let decoded = try Catalog.RecordCodec.decode(Catalog.RecordCodec.encode(record))
        let kept = try #require(decoded.meta["long"])
        #expect(kept.utf8.count == 65_534 && kept == String(repeating: "é", count: 32_767))
    }

    @Test func standaloneCheckUsesItsNameAsID() throws {
        let json = try JSONValue.parse(#"{"Name":"disk","TTL":"30s","ServiceID":"web"}"#)
        let check = try ServiceDefinition.parseCheck(json: json).get()
        #expect(check.id == "disk" && check.serviceID == "web" && check.type == "ttl")
    }
}
