@testable import Agent
@testable import CatalogCore
import Testing

/// The server port's allow-list, from the attacker's side: every request
/// a stranger would send to change or stop something is refused.
@Suite struct RPCAllowListTests {
    static func http(_ method: String, _ target: String, _ body: String = "") -> RPC.Request {
        .http(method: method, target: target, body: Array(body.utf8))
    }

    @Test("federated catalog and health reads, DNS, datacenters and tunnels are allowed")
    func allowed() {
        let reads = [
            "/v1/catalog/datacenters", "/v1/catalog/nodes?dc=dc2", "/v1/catalog/services?dc=dc2&index=5&wait=1s",
            "/v1/catalog/service/web?dc=dc2&tag=v1", "/v1/catalog/node/n1?dc=dc2", "/v1/health/service/web?dc=dc2&passing",
            "/v1/health/node/n1", "/v1/health/checks/web", "/v1/health/state/critical", "/v1/catalog/service/a%2Fb",
            "/v1/coordinate/datacenters",
        ]
        for target in reads {
            #expect(RPCAllowList.refusal(of: Self.http("GET", target)) == nil, "\(target)")
            #expect(RPCAllowList.refusal(of: Self.http("HEAD", target)) == nil, "\(target)")
        }
        #expect(RPCAllowList.refusal(of: .dns(packet: [1, 2], tcp: false)) == nil)
        #expect(RPCAllowList.refusal(of: .datacenters) == nil)
        #expect(RPCAllowList.refusal(of: .tunnel(service: "web")) == nil)
    }

    @Test("writes, agent control, operator and anything off the list are refused")
    func refused() {
        let forbidden: [RPC.Request] = [
            Self.http("PUT", "/v1/catalog/register", #"{"Node":"evil","Address":"127.0.0.1","Service":{"Service":"sshd","Port":22}}"#),
            Self.http("PUT", "/v1/catalog/deregister", #"{"Node":"n1"}"#),
            Self.http("PUT", "/v1/agent/leave"), Self.http("GET", "/v1/agent/leave"),
            Self.http("PUT", "/v1/agent/service/register", #"{"Name":"x"}"#),
            Self.http("PUT", "/v1/agent/check/pass/service:web"), Self.http("PUT", "/v1/agent/maintenance?enable=true"),
            Self.http("PUT", "/v1/agent/service/maintenance/web?enable=true"), Self.http("GET", "/v1/agent/self"),
            Self.http("GET", "/v1/agent/members"), Self.http("GET", "/v1/operator/keyring"),
            Self.http("POST", "/v1/operator/keyring", #"{"Key":"x"}"#), Self.http("DELETE", "/v1/catalog/service/web"),
            Self.http("POST", "/v1/catalog/services"), Self.http("GET", "/v1/status/leader"),
            Self.http("GET", "/v1/catalog/service/web/../../agent/leave"), Self.http("GET", "/v1/catalog/service/"),
            Self.http("GET", "/v1/catalog/service"), Self.http("GET", "/v1/catalog/nodes/x"), Self.http("GET", "//v1/catalog/nodes"),
            Self.http("GET", "http://x/v1/catalog/nodes"), Self.http("GET", "v1/catalog/nodes"), Self.http("GET", ""),
            Self.http("GET", "/v1/catalog/nodes", "{}"), Self.http("get", "/v1/catalog/nodes"),
            Self.http("PUT", "/v1/coordinate/update", #"{"Node":"n1","Coord":{"Vec":[0,0,0,0,0,0,0,0]}}"#),
            Self.http("GET", "/v1/coordinate/nodes"), Self.http("GET", "/v1/coordinate/node/n1"),
            Self.http("GET", "/v1/%63atalog/nodes"), Self.http("GET", "/v1/catalog/%6eodes"), Self.http("GET", "/v2/catalog/nodes"),
        ]
        for request in forbidden {
            #expect(RPCAllowList.refusal(of: request)?.hasPrefix("rpc: ") == true, "\(request)")
        }
    }
}
