@testable import Agent
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

    @Test func standaloneCheckUsesItsNameAsID() throws {
        let json = try JSONValue.parse(#"{"Name":"disk","TTL":"30s","ServiceID":"web"}"#)
        let check = try ServiceDefinition.parseCheck(json: json).get()
        #expect(check.id == "disk" && check.serviceID == "web" && check.type == "ttl")
    }
}
