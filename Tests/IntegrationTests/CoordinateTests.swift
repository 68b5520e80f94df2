// Network coordinates with real agents on loopback: the /v1/coordinate
// endpoints in Consul's shapes, ?near= ordering, PUT /v1/coordinate/update
// and `fedagent rtt`. Loopback has no latency structure to find, so these
// check shapes and consistency; the accuracy of the estimates is checked
// in the simulator (MembershipTests: CoordinateSimulationTests).

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Network coordinates on loopback")
    struct Coordinates {
        static func json(_ agent: TestAgent, _ path: String) -> (status: Int, json: JSONValue?, text: String) {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, path) else { return (0, nil, "unreachable") }
            return (r.status, try? JSONValue.parse(r.body), r.text)
        }

        /// Why `entry` is not Consul's `{"Node","Segment","Coord":{"Vec":[8],"Error","Adjustment","Height"}}`; nil if it is.
        static func shapeProblem(_ entry: JSONValue) -> String? {
            guard entry.objectValue?.map(\.0) == ["Node", "Segment", "Coord"] else { return "keys \(entry.objectValue?.map(\.0) ?? [])" }
            guard entry["Segment"]?.stringValue == "" else { return "Segment \(String(describing: entry["Segment"]))" }
            guard let coord = entry["Coord"], coord.objectValue?.map(\.0) == ["Vec", "Error", "Adjustment", "Height"] else {
                return "Coord keys \(entry["Coord"]?.objectValue?.map(\.0) ?? [])"
            }
            guard let vec = coord["Vec"]?.arrayValue, vec.count == 8, vec.allSatisfy({ $0.doubleValue != nil }) else { return "Vec" }
            for key in ["Error", "Adjustment", "Height"] where coord[key]?.doubleValue == nil { return key }
            return nil
        }

        static func nodes(_ list: JSONValue?) -> [String] {
            (list?.arrayValue ?? []).compactMap { $0["Node"]?.stringValue }
        }

        @Test("coordinates appear after a little gossip, in Consul's shapes (nodes, node, datacenters, update); ?near= follows them; `fedagent rtt` prints the estimate")
        func endpoints() throws {
            try Harness.run("coordinates") { h in
                let octets = [154, 164, 174]
                let ips = try LoopbackBlock.pick(count: 4, thirdOctets: octets, ports: h.ports)
                let serverIPs = try LoopbackBlock.pick(count: 4, thirdOctets: octets, ports: AgentPorts(gossip: 8302, http: 8300, dns: 8302))
                guard ips == serverIPs else { throw h.fail("no loopback block with every port free: \(ips) vs \(serverIPs)") }
                func agent(_ name: String, _ ip: String, dc: String, server: Bool, lanSeed: String, wanSeed: String? = nil) -> TestAgent {
                    let a = h.addAgent(name: name, ip: ip, retryJoin: ip == lanSeed ? [] : [lanSeed])
                    var extra = ["-datacenter", dc]
                    if server { extra.append("-server") }
                    if let wanSeed { extra += ["-retry-join-wan", wanSeed] }
                    a.command = [h.binary] + a.arguments + extra
                    return a
                }
                let s1 = agent("s1", ips[0], dc: "dc1", server: true, lanSeed: ips[0])
                let c1 = agent("c1", ips[1], dc: "dc1", server: false, lanSeed: ips[0])
                let c2 = agent("c2", ips[2], dc: "dc1", server: false, lanSeed: ips[0])
                let s2 = agent("s2", ips[3], dc: "dc2", server: true, lanSeed: ips[3], wanSeed: ips[0])
                for a in [s1, c1, c2, s2] { try h.start(a) }

                // LAN: every dc1 node's coordinate, by name, in Consul's shape.
                try h.eventually("c1 lists the coordinates of s1, c1 and c2") {
                    try h.requireRunning([s1, c1, c2, s2])
                    let r = Self.json(c1, "/v1/coordinate/nodes")
                    let problems = (r.json?.arrayValue ?? []).compactMap(Self.shapeProblem)
                    return (r.status == 200 && Self.nodes(r.json) == ["c1", "c2", "s1"] && problems.isEmpty, "\(r.status) \(r.text) \(problems)")
                }
                let one = Self.json(c1, "/v1/coordinate/node/c2")
                h.check(one.status == 200 && Self.nodes(one.json) == ["c2"] && (one.json?[0]).flatMap(Self.shapeProblem) == nil,
                        "GET /v1/coordinate/node/c2: \(one.status) \(one.text)")
                let missing = Self.json(c1, "/v1/coordinate/node/nobody")
                h.check(missing.status == 404, "an unknown node is a 404: \(missing.status) \(missing.text)")
                let segment = Self.json(c1, "/v1/coordinate/nodes?segment=alpha")
                h.check(segment.status == 200 && segment.json?.arrayValue?.isEmpty == true, "no node is in segment alpha: \(segment.text)")

                // WAN: each datacenter with its servers, on a server and on a client (which asks its server).
                for observer in [s1, c1] {
                    try h.eventually("\(observer.name) lists the WAN coordinates of s1 in dc1 and s2 in dc2") {
                        let r = Self.json(observer, "/v1/coordinate/datacenters")
                        let maps = r.json?.arrayValue ?? []
                        let shape = maps.map { $0.objectValue?.map(\.0) ?? [] }
                        let dcs = maps.map { "\($0["Datacenter"]?.stringValue ?? "?")/\($0["AreaID"]?.stringValue ?? "?"):" + Self.nodes($0["Coordinates"]).joined(separator: ",") }
                        let problems = maps.flatMap { ($0["Coordinates"]?.arrayValue ?? []).compactMap(Self.shapeProblem) }
                        return (r.status == 200 && dcs == ["dc1/wan:s1", "dc2/wan:s2"] && problems.isEmpty
                                && shape.allSatisfy { $0 == ["Datacenter", "AreaID", "Coordinates"] }, "\(r.status) \(r.text)")
                    }
                }
                let dcs = Self.json(s2, "/v1/catalog/datacenters")
                h.check(dcs.json?.arrayValue?.compactMap(\.stringValue) == ["dc2", "dc1"], "s2 lists its own datacenter first: \(dcs.text)")

                // PUT /v1/coordinate/update: stored for the node (until its own next report), bad input a 400.
                let coord = #"{"Vec":[0.5,0,0,0,0,0,0,0],"Error":0.25,"Adjustment":0,"Height":0.001}"#
                try h.eventually("an updated coordinate of c2 reads back from c1") {
                    let put = try? HTTPClient.put(c1.ip, c1.ports.http, "/v1/coordinate/update",
                                                  body: Array(#"{"Node":"c2","Segment":"","Coord":\#(coord)}"#.utf8))
                    let back = Self.json(c1, "/v1/coordinate/node/c2")
                    return (put?.status == 200 && back.json?[0]?["Coord"]?["Vec"]?[0]?.doubleValue == 0.5, "\(String(describing: put)) \(back.text)")
                }
                let bad: [(String, String)] = [
                    ("not json", "decode failed"), (#"{"Coord":\#(coord)}"#, "missing Node"),
                    (#"{"Node":"c2"}"#, "missing Coord"), (#"{"Node":"c2","Coord":{"Vec":"x"}}"#, "Vec"),
                    (#"{"Node":"c2","Coord":{"Vec":[1,2,3],"Error":0.1,"Adjustment":0,"Height":0.001}}"#, "incompatible coordinate"),
                    (#"{"Node":"c2","Coord":{"Vec":[null,0,0,0,0,0,0,0],"Error":0.1,"Adjustment":0,"Height":0.001}}"#, "Vec"),
                    (#"{"Node":"c2","Coord":{"Vec":[0,0,0,0,0,0,0,0],"Error":"high","Adjustment":0,"Height":0.001}}"#, "Error"),
                ]
                for (body, message) in bad {
                    let r = try HTTPClient.put(c1.ip, c1.ports.http, "/v1/coordinate/update", body: Array(body.utf8))
                    h.check(r.status == 400 && r.text.contains(message), "PUT \(body) should be a 400 saying \(message): \(r.status) \(r.text)")
                }
                let unknownNode = try HTTPClient.put(c1.ip, c1.ports.http, "/v1/coordinate/update",
                                                     body: Array(#"{"Node":"ghost","Coord":\#(coord)}"#.utf8))
                h.check(unknownNode.status == 200 && Self.json(c1, "/v1/coordinate/node/ghost").status == 404,
                        "a node that is not a member is dropped, as in Consul: \(unknownNode)")
                let wrongMethod = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/coordinate/update")
                h.check(wrongMethod.status == 405, "GET /v1/coordinate/update: \(wrongMethod)")

                try checkNear(h, [s1, c1, c2])
                try checkRTT(h, s1: s1, c1: c1)
            }
        }

        /// `?near=` orders answers by the estimate from the coordinates the
        /// agent reports: compared when no coordinate moved in between.
        private func checkNear(_ h: Harness, _ agents: [TestAgent]) throws {
            for a in agents {
                let body = Array(#"{"Name":"web","ID":"web-\#(a.name)","Port":8080}"#.utf8)
                let r = try HTTPClient.put(a.ip, a.ports.http, "/v1/agent/service/register", body: body)
                h.check(r.status == 200, "\(a.name) registers web: \(r)")
            }
            let c1 = agents[1]
            try h.eventually("c1's catalog has web on all three nodes") {
                let r = Self.json(c1, "/v1/catalog/service/web")
                return (Set(Self.nodes(r.json)) == ["s1", "c1", "c2"], r.text)
            }
            let plain = Self.json(c1, "/v1/catalog/service/web?near=nobody")
            h.check(Self.nodes(plain.json) == ["c1", "c2", "s1"], "near a node without a coordinate keeps the order: \(plain.text)")
            for path in ["/v1/catalog/service/web", "/v1/health/service/web", "/v1/catalog/nodes"] {
                try h.eventually("\(path)?near=_agent on c1 is nearest first by c1's coordinates") {
                    let before = Self.json(c1, "/v1/coordinate/nodes").text
                    let near = Self.json(c1, path + "?near=_agent")
                    let after = Self.json(c1, "/v1/coordinate/nodes")
                    guard before == after.text, let entries = after.json?.arrayValue else { return (false, "coordinates moved") }
                    var coordinates: [String: [Double]] = [:]
                    var extras: [String: (Double, Double)] = [:]
                    for e in entries {
                        guard let node = e["Node"]?.stringValue, let c = e["Coord"] else { continue }
                        coordinates[node] = (c["Vec"]?.arrayValue ?? []).compactMap(\.doubleValue)
                        extras[node] = (c["Height"]?.doubleValue ?? 0, c["Adjustment"]?.doubleValue ?? 0)
                    }
                    func distance(_ a: String, _ b: String) -> Double {
                        guard let x = coordinates[a], let y = coordinates[b], let ea = extras[a], let eb = extras[b] else { return .infinity }
                        let euclid = zip(x, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                        let raw = euclid + ea.0 + eb.0
                        return raw + ea.1 + eb.1 > 0 ? raw + ea.1 + eb.1 : raw
                    }
                    let order = (near.json?.arrayValue ?? []).compactMap { $0["Node"]?["Node"]?.stringValue ?? $0["Node"]?.stringValue }
                    let distances = order.map { distance("c1", $0) }
                    let sorted = zip(distances, distances.dropFirst()).allSatisfy { $0 <= $1 }
                    return (order.count == 3 && sorted, "\(order) at \(distances)")
                }
            }
        }

        private func checkRTT(_ h: Harness, s1: TestAgent, c1: TestAgent) throws {
            func matches(_ text: String, _ a: String, _ b: String, _ kind: String) -> Bool {
                let prefix = "Estimated \(a) <-> \(b) rtt: ", suffix = " ms (using \(kind) coordinates)\n"
                guard text.hasPrefix(prefix), text.hasSuffix(suffix) else { return false }
                let number = text.dropFirst(prefix.count).dropLast(suffix.count)
                return Double(number) != nil && number.split(separator: ".").last?.count == 3
            }
            let toAgent = try h.fedagent(["rtt", "-http-addr", c1.httpAddress, "c2"])
            h.check(toAgent.status == .exited(0) && matches(toAgent.stdout, "c2", "c1", "LAN"), "`rtt c2` against c1: \(toAgent)")
            let pair = try h.fedagent(["rtt", "-http-addr", c1.httpAddress, "s1", "c2"])
            h.check(pair.status == .exited(0) && matches(pair.stdout, "s1", "c2", "LAN"), "`rtt s1 c2`: \(pair)")
            let wan = try h.fedagent(["rtt", "-wan", "-http-addr", s1.httpAddress, "s2.dc2"])
            h.check(wan.status == .exited(0) && matches(wan.stdout, "s2.dc2", "s1.dc1", "WAN"), "`rtt -wan s2.dc2` against s1: \(wan)")
            let unknown = try h.fedagent(["rtt", "-http-addr", c1.httpAddress, "nobody"])
            h.check(unknown.status == .exited(1) && unknown.stderr.contains("Could not find a coordinate for node \"nobody\""),
                    "`rtt nobody`: \(unknown)")
            let badWAN = try h.fedagent(["rtt", "-wan", "-http-addr", s1.httpAddress, "s2"])
            h.check(badWAN.status == .exited(1) && badWAN.stderr.contains("<node name>.<datacenter>"), "`rtt -wan s2`: \(badWAN)")
        }
    }
}
