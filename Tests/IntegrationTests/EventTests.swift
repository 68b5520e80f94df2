// User events and watches against real agents: PUT /v1/event/fire with
// its filters, /v1/event/list (blocking too), `fedagent event`, and
// `fedagent watch` running a handler with the JSON on stdin.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("User events and watches")
    struct Events {
        static func names(_ agent: TestAgent, _ query: String = "") -> [String] {
            guard let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/event/list" + query), r.status == 200 else { return ["?"] }
            return ((try? JSONValue.parse(r.body))?.arrayValue ?? []).compactMap { $0["Name"]?.stringValue }
        }

        @Test("events reach the agents their filters pick, once; the list blocks until a new one; fedagent event and watch")
        func eventsAndWatches() throws {
            try Harness.run("events") { h in
                let ips = try LoopbackBlock.pick(count: 3, thirdOctets: [155, 165, 175], ports: h.ports)
                let s1 = h.addAgent(name: "ev1", ip: ips[0], retryJoin: [])
                s1.command = [h.binary] + s1.arguments + ["-server"]
                let c1 = h.addAgent(name: "ev2", ip: ips[1], retryJoin: [ips[0]])
                let c2 = h.addAgent(name: "ev3", ip: ips[2], retryJoin: [ips[0]])
                let all = [s1, c1, c2]
                for a in all { try h.start(a) }
                func put(_ agent: TestAgent, _ path: String, _ body: String = "") -> HTTPResponse? {
                    try? HTTPClient.put(agent.ip, agent.ports.http, path, body: Array(body.utf8))
                }
                try h.eventually("every agent sees three alive members") {
                    try h.requireRunning(all)
                    let counts = all.map { (try? h.members(of: $0).filter { $0.status == 1 }.count) ?? 0 }
                    return (counts == [3, 3, 3], "\(counts)")
                }
                h.check(put(c1, "/v1/agent/service/register", #"{"Name":"web","Tags":["v1","blue"],"Port":80}"#)?.status == 200, "web on ev2")
                h.check(put(c2, "/v1/agent/service/register", #"{"Name":"db","Port":5432}"#)?.status == 200, "db on ev3")

                // Unfiltered: every agent takes it, in Consul's shape.
                let fired = put(c2, "/v1/event/fire/deploy", "v42")
                let event = fired.flatMap { try? JSONValue.parse($0.body) }
                h.check(fired?.status == 200 && event?.objectValue?.map(\.0)
                        == ["ID", "Name", "Payload", "NodeFilter", "ServiceFilter", "TagFilter", "Version", "LTime"],
                        "fire answers the event: \(String(describing: fired))")
                h.check(event?["Payload"]?.stringValue == "djQy" && event?["Version"]?.intValue == 1, "base64 payload, version 1")
                try h.eventually("every agent lists deploy") {
                    let lists = all.map { Self.names($0) }
                    return (lists.allSatisfy { $0 == ["deploy"] }, "\(lists)")
                }

                // Filtered by service and tag, then by node; an unfiltered marker after them
                // shows when gossip has reached everyone, so absence can be checked.
                h.check(put(s1, "/v1/event/fire/web-only?service=%5Eweb%24&tag=blue")?.status == 200, "web-only fired")
                h.check(put(s1, "/v1/event/fire/ev3-only?node=ev3")?.status == 200, "ev3-only fired")
                h.check(put(s1, "/v1/event/fire/marker")?.status == 200, "marker fired")
                try h.eventually("the marker reached every agent") {
                    let lists = all.map { Self.names($0) }
                    return (lists.allSatisfy { $0.contains("marker") }, "\(lists)")
                }
                // Gossip keeps no order between events: compared as sets.
                h.check(Set(Self.names(s1)) == ["deploy", "marker"], "the server runs no web and is not ev3: \(Self.names(s1))")
                h.check(Set(Self.names(c1)) == ["deploy", "web-only", "marker"], "ev2 runs web tagged blue: \(Self.names(c1))")
                h.check(Set(Self.names(c2)) == ["deploy", "ev3-only", "marker"], "ev3 is named ev3: \(Self.names(c2))")
                h.check(Self.names(c1, "?name=deploy") == ["deploy"], "?name= narrows the list")

                // What is refused, and changes nothing.
                for (path, why) in [("/v1/event/fire/x?tag=v1", "Cannot provide tag filter without service filter"),
                                    ("/v1/event/fire/x?node=%28", "Invalid node filter")] {
                    let r = put(c1, path)
                    h.check(r?.status == 400 && r?.text.contains(why) == true, "\(path): \(String(describing: r))")
                }
                let big = put(c1, "/v1/event/fire/big", String(repeating: "x", count: 600))
                h.check(big?.status == 400 && big?.text.contains("512 bytes") == true, "oversized payload: \(String(describing: big))")
                h.check(put(c1, "/v1/event/fire/")?.status == 400, "no name")
                let get = try? HTTPClient.get(c1.ip, c1.ports.http, "/v1/event/fire/x")
                h.check(get?.status == 405, "fire is a PUT: \(String(describing: get))")
                h.check(Set(Self.names(c1)) == ["deploy", "web-only", "marker"], "nothing refused was kept: \(Self.names(c1))")

                // Blocking: an old index answers at once, the current one waits for news.
                let now = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/event/list")
                let index = now.header("X-Consul-Index") ?? ""
                h.check(!index.isEmpty && index != "1", "the list has an index: \(now)")
                let quiet = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/event/list?index=\(index)&wait=1s", timeout: 30)
                h.check(quiet.status == 200 && quiet.header("X-Consul-Index") == index, "no news: the same index at the wait's end")
                let bad = try HTTPClient.get(c1.ip, c1.ports.http, "/v1/event/list?index=x")
                h.check(bad.status == 400, "a bad index is a 400: \(bad)")

                // `fedagent watch -type event` with a handler: each new event, the list on stdin.
                let out = h.directory + "/watch.out"
                let watcher = try Spawn.start(h.binary, ["watch", "-http-addr", c1.httpAddress, "-type", "event", "-name", "release",
                                                         "echo index=$CONSUL_INDEX >> \(out); cat >> \(out)"],
                                              environment: Spawn.environment(), stdoutPath: h.directory + "/watch.log",
                                              stderrPath: h.directory + "/watch.log")
                h.onTeardown { _ = Spawn.stop(watcher, graceful: false) }
                try h.eventually("the watch ran its handler once, for the empty list") {
                    let text = FileIO.readText(out)
                    return (text.contains("index=1\n[]"), text)
                }
                let cli = try h.fedagent(["event", "-http-addr", c2.httpAddress, "-name", "release", "-service", "web", "build-7"])
                let id = cli.stdout.hasPrefix("Event ID: ") ? String(cli.stdout.dropFirst(10)).trimmingCharacters(in: "\n") : ""
                h.check(cli.status == .exited(0) && id.count == 36, "fedagent event prints the ID: \(cli)")
                try h.eventually("the watch handler got the new event on stdin") {
                    let text = FileIO.readText(out)
                    return (text.contains(#""ID":"\#(id)""#) && text.contains(#""Payload":"YnVpbGQtNw==""#), text)
                }
                let missing = try h.fedagent(["event", "-http-addr", c2.httpAddress])
                h.check(missing.status == .exited(1) && missing.stderr.contains("Event name must be specified"), "\(missing)")

                // `fedagent watch -type service` prints once without a handler; key watches say why not.
                let once = try h.fedagent(["watch", "-http-addr", c1.httpAddress, "-type", "service", "-service", "web"])
                let instances = (try? JSONValue.parse(Array(once.stdout.utf8)))?.arrayValue ?? []
                h.check(once.status == .exited(0) && instances.first?["Service"]?["Service"]?.stringValue == "web", "\(once)")
                let key = try h.fedagent(["watch", "-http-addr", c1.httpAddress, "-type", "key", "-key", "a"])
                h.check(key.status == .exited(1) && key.stderr.contains("KV store"), "key watches need the KV store: \(key)")
                for a in all { h.check(a.pid.map { kill($0, 0) == 0 } ?? false, "\(a.name) still running") }
            }
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
