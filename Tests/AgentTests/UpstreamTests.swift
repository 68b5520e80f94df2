@testable import Agent
@testable import CatalogCore
import JSON
import Testing

/// Upstreams in Consul's service-definition shape and in the flag form.
@Suite struct UpstreamTests {
    @Test func consulsShapeIsRead() throws {
        let json = try JSONValue.parse(Array("""
            {"Name": "frontend", "Port": 8080, "Connect": {"SidecarService": {"Proxy": {"Upstreams": [
              {"DestinationName": "backend", "Datacenter": "DC2", "LocalBindAddress": "127.0.0.2", "LocalBindPort": 9191},
              {"destination_name": "cache", "local_bind_port": 6380}]}}}}
            """.utf8))
        let upstreams = try Upstream.parse(definition: json, owner: "frontend").get()
        #expect(upstreams == [
            Upstream(destination: "backend", datacenter: "dc2", bindAddress: "127.0.0.2", bindPort: 9191, owner: "frontend"),
            Upstream(destination: "cache", datacenter: "", bindAddress: "127.0.0.1", bindPort: 6380, owner: "frontend"),
        ])
        #expect(try Upstream.parse(definition: JSONValue.parse(Array(#"{"Name":"x"}"#.utf8)), owner: "x").get().isEmpty)
    }

    @Test func badUpstreamsAreClearErrors() throws {
        let cases = [
            (#"{"Upstreams": 3}"#, "must be a list"),
            (#"{"Upstreams": [{"LocalBindPort": 1}]}"#, "DestinationName"),
            (#"{"Upstreams": [{"DestinationName": "b", "LocalBindPort": 70000}]}"#, "LocalBindPort"),
            (#"{"Upstreams": [{"DestinationName": "b", "LocalBindPort": 9, "LocalBindAddress": "localhost"}]}"#, "LocalBindAddress"),
        ]
        for (proxy, mention) in cases {
            let json = try JSONValue.parse(Array(#"{"Name":"f","Connect":{"SidecarService":{"Proxy":"#.utf8) + Array(proxy.utf8) + Array("}}}".utf8))
            guard case .failure(let error) = Upstream.parse(definition: json, owner: "f") else {
                Issue.record("\(proxy) should be refused")
                continue
            }
            #expect(error.description.contains(mention), "\(proxy): \(error)")
        }
    }

    @Test func flagForm() {
        #expect(Upstream.parse(flag: "backend@DC2:9191") == Upstream(destination: "backend", datacenter: "dc2", bindPort: 9191))
        #expect(Upstream.parse(flag: "backend:9191") == Upstream(destination: "backend", bindPort: 9191))
        for bad in ["backend", "backend@:9191", "@dc2:9191", "backend@dc2:0", "backend@dc2:99999", ":9191"] {
            #expect(Upstream.parse(flag: bad) == nil, "\(bad)")
        }
    }
}
