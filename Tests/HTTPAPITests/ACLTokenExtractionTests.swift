@testable import HTTPAPI
import Testing

@Suite struct ACLTokenExtractionTests {
    @Test("the token comes from ?token=, else X-Consul-Token, else Authorization: Bearer, as Consul reads it")
    func places() {
        func token(_ target: String, _ headers: HTTPHeaders = [:]) -> String? {
            ConsulAPI.token(of: HTTPRequest(method: "GET", target: target, headers: headers))
        }
        #expect(token("/v1/catalog/services?token=q") == "q")
        #expect(token("/v1/catalog/services", ["X-Consul-Token": "h"]) == "h")
        #expect(token("/v1/catalog/services", ["x-consul-token": "h"]) == "h", "header names are case-insensitive")
        #expect(token("/v1/catalog/services", ["Authorization": "Bearer b"]) == "b")
        #expect(token("/v1/catalog/services", ["Authorization": "bearer  b"]) == "b")
        #expect(token("/v1/catalog/services", ["Authorization": "Basic dXNlcjpwYXNz"]) == nil)
        #expect(token("/v1/catalog/services", ["Authorization": "Bearer "]) == nil)
        #expect(token("/v1/catalog/services?token=q", ["X-Consul-Token": "h", "Authorization": "Bearer b"]) == "q")
        #expect(token("/v1/catalog/services", ["X-Consul-Token": "h", "Authorization": "Bearer b"]) == "h")
        #expect(token("/v1/catalog/services?token=") == nil)
        #expect(token("/v1/catalog/services") == nil)
    }

    @Test("a forwarded request carries a header token as ?token=, and only a token of the shape agents issue")
    func forwarding() {
        let uuid = "913f135d-69d9-4781-8fe8-acda4603d94e"
        #expect(ConsulAPI.targetCarryingToken(HTTPRequest(method: "GET", target: "/v1/catalog/services?dc=dc2", headers: ["X-Consul-Token": uuid]))
                == "/v1/catalog/services?dc=dc2&token=\(uuid)")
        #expect(ConsulAPI.targetCarryingToken(HTTPRequest(method: "GET", target: "/v1/health/service/web?dc=dc2&token=\(uuid)"))
                == "/v1/health/service/web?dc=dc2&token=\(uuid)")
        #expect(ConsulAPI.targetCarryingToken(HTTPRequest(method: "GET", target: "/v1/catalog/nodes?dc=dc2", headers: ["X-Consul-Token": "a&b=c"]))
                == "/v1/catalog/nodes?dc=dc2")
    }
}
