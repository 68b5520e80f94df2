// The catalog across real agents: a registration on one agent reaches the
// others by gossip, and a killed agent restarted from its data directory
// has its registrations back exactly once.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Catalog on loopback")
    struct CatalogReplication {
        /// ServiceIDs of `name` that `agent` lists in /v1/catalog/service/NAME.
        static func instances(_ h: Harness, _ agent: TestAgent, _ name: String) -> [String] {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/service/\(name)"), r.status == 200, let list = try? JSONValue.parse(r.body).arrayValue else { return [] }
            return list.compactMap { $0["ServiceID"]?.stringValue }.sorted()
        }

        /// ServiceIDs of `name` that `agent` lists in /v1/health/service/NAME?passing.
        static func passing(_ agent: TestAgent, _ name: String) -> [String] {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/health/service/\(name)?passing"), r.status == 200,
                  let list = try? JSONValue.parse(r.body).arrayValue else { return ["unreadable"] }
            return list.compactMap { $0["Service"]?["ID"]?.stringValue }.sorted()
        }

        @Test("a service registered on one agent shows on the others; its TTL check flips health everywhere; kill -9 makes it critical elsewhere; a restart brings it back exactly once")
        func registrationReplicatesAndSurvivesRestart() throws {
            try Harness.run("catalog") { h in
                let ips = try LoopbackBlock.pick(count: 5, thirdOctets: [78, 88, 98, 108, 118], ports: h.ports)
                let agents = ips.enumerated().map { i, ip in h.addAgent(name: "cat\(i + 1)", ip: ip, retryJoin: [ips[0]]) }
                for agent in agents { try h.start(agent) }
                let owner = agents[1]
                try h.eventually("\(owner.name) accepts a registration") {
                    let body = Array(#"{"Name":"web","ID":"web-a","Port":8080,"Tags":["v1"],"Check":{"TTL":"120s"}}"#.utf8)
                    guard let r = try? HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/service/register", body: body) else {
                        return (false, "not answering yet")
                    }
                    return (r.status == 200, "\(r)")
                }
                let bad = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/service/register", body: Array(#"{"Port":1}"#.utf8))
                h.check(bad.status == 400 && bad.text.contains("Missing service name"), "a body without Name is a 400: \(bad)")
                for agent in agents {
                    try h.eventually("\(agent.name) lists web-a") {
                        let ids = Self.instances(h, agent, "web")
                        return (ids == ["web-a"], "\(ids)")
                    }
                }

                // A quiet cluster's catalog stands still: agents hear their own
                // records back by gossip, and must not republish them (the
                // index rose 20 times a second when they did).
                func index(_ agent: TestAgent) -> Int {
                    (try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/nodes")).flatMap { $0.header("X-Consul-Index") }.flatMap { Int($0) } ?? -1
                }
                let before = agents.map(index)
                usleep(3_000_000)
                let after = agents.map(index)
                for (i, agent) in agents.enumerated() {
                    // A few changes of gossip health are allowed; a storm is not.
                    h.check(before[i] > 0 && after[i] - before[i] <= 10, "\(agent.name)'s index stays put while nothing changes: \(before[i]) then \(after[i])")
                }

                // A new TTL check starts critical: not in ?passing anywhere until it passes.
                for agent in agents { h.check(Self.passing(agent, "web").isEmpty, "web-a starts critical on \(agent.name)") }
                let pass = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/check/pass/service:web-a?note=ok")
                h.check(pass.status == 200, "TTL pass: \(pass)")
                let unknown = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/check/pass/nope")
                h.check(unknown.status == 500 && unknown.text.contains("does not have associated TTL"), "unknown TTL check: \(unknown)")
                for agent in agents {
                    try h.eventually("\(agent.name) lists web-a passing") {
                        let ids = Self.passing(agent, "web")
                        return (ids == ["web-a"], "\(ids)")
                    }
                }

                // ...and back to critical everywhere when the TTL check fails.
                let fail = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/check/fail/service:web-a?note=down")
                h.check(fail.status == 200, "TTL fail: \(fail)")
                for agent in agents {
                    try h.eventually("\(agent.name) drops web-a from ?passing after the TTL failed") {
                        let ids = Self.passing(agent, "web")
                        return (ids.isEmpty, "\(ids)")
                    }
                }
                _ = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/check/pass/service:web-a")
                for agent in agents {
                    try h.eventually("\(agent.name) lists web-a passing again") {
                        let ids = Self.passing(agent, "web")
                        return (ids == ["web-a"], "\(ids)")
                    }
                }

                h.signal(owner, SIGKILL)
                _ = h.waitForExit(owner)
                for agent in agents where agent !== owner {
                    try h.eventually("\(agent.name) drops web-a from ?passing once its node failed") {
                        let ids = Self.passing(agent, "web")
                        return (ids.isEmpty, "\(ids)")
                    }
                }
                try h.start(owner)
                try h.eventually("\(owner.name) restarted from its data dir lists web-a once") {
                    guard let r = try? HTTPClient.get(owner.ip, owner.ports.http, "/v1/agent/services") else {
                        return (false, "not answering yet")
                    }
                    let ids = (try? JSONValue.parse(r.body).objectValue?.map(\.0)) ?? []
                    return (ids == ["web-a"], "\(r)")
                }
                for agent in agents {
                    try h.eventually("\(agent.name) still lists web-a exactly once") {
                        let ids = Self.instances(h, agent, "web")
                        return (ids == ["web-a"], "\(ids)")
                    }
                }

                // A record too big for a gossip packet travels as a notice;
                // the others pull it from its owner by push/pull, whose
                // answer carries the records the asker's digest lacks.
                let meta = (0..<40).map { #""key\#($0)":"\#(String(repeating: "v", count: 60))""# }.joined(separator: ",")
                let big = try HTTPClient.put(owner.ip, owner.ports.http, "/v1/agent/service/register",
                                             body: Array(#"{"Name":"bulky","ID":"bulky-1","Port":9000,"Meta":{\#(meta)}}"#.utf8))
                h.check(big.status == 200, "a service with 3 KB of meta registers: \(big)")
                for agent in agents {
                    try h.eventually("\(agent.name) lists bulky-1 with all its meta") {
                        guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/service/bulky"), r.status == 200,
                              let first = (try? JSONValue.parse(r.body).arrayValue)?.first else { return (false, "no answer") }
                        let keys = first["ServiceMeta"]?.objectValue?.count ?? 0
                        return (keys == 40, "\(keys) meta keys")
                    }
                }
            }
        }

        @Test("an external node registered through one agent's /v1/catalog/register reaches the others, with its own checks, and leaves when deregistered")
        func externalNodesReplicate() throws {
            try Harness.run("external") { h in
                let ips = try LoopbackBlock.pick(count: 2, thirdOctets: [74, 84, 94, 104, 114], ports: h.ports)
                let agents = ips.enumerated().map { i, ip in h.addAgent(name: "ext\(i + 1)", ip: ip, retryJoin: [ips[0]]) }
                for agent in agents { try h.start(agent) }
                let (a, b) = (agents[0], agents[1])
                let entries = [
                    #"{"Node":"db-1","Address":"127.0.10.4","Service":{"ID":"db-1","Service":"db","Port":5432},"Checks":[{"CheckID":"service:db-1","Status":"passing","ServiceID":"db-1"}]}"#,
                    #"{"Node":"db-2","Address":"127.0.10.5","Service":{"ID":"db-2","Service":"db","Port":5432},"Checks":[{"CheckID":"service:db-2","Status":"critical","ServiceID":"db-2"}]}"#,
                ]
                for body in entries {
                    try h.eventually("\(a.name) takes a catalog registration") {
                        let r = try? HTTPClient.put(a.ip, a.ports.http, "/v1/catalog/register", body: Array(body.utf8))
                        return (r?.status == 200, "\(String(describing: r))")
                    }
                }
                let missing = try HTTPClient.put(a.ip, a.ports.http, "/v1/catalog/register", body: Array(#"{"Address":"1.2.3.4"}"#.utf8))
                h.check(missing.status == 400 && missing.text.contains("Must provide node"), "no Node is a 400: \(missing)")
                try h.eventually("\(b.name) lists db-1 passing and not the critical db-2") {
                    let ids = Self.passing(b, "db")
                    return (ids == ["db-1"], "\(ids)")
                }
                let gone = try HTTPClient.put(a.ip, a.ports.http, "/v1/catalog/deregister", body: Array(#"{"Node":"db-1"}"#.utf8))
                h.check(gone.status == 200 && gone.text.contains("true"), "deregister answers true: \(gone)")
                try h.eventually("\(b.name) no longer lists db-1") {
                    let ids = Self.instances(h, b, "db")
                    return (ids == ["db-2"], "\(ids)")
                }
            }
        }
    }
}
