// Gossip encryption with real agents on loopback, from the attacker's side:
// a member with another key is never listed, an eavesdropper sees no name
// in the traffic, a plaintext pool moves to encryption by rolling restarts
// without losing a member or a registration, and a key rotation across the
// pool survives a restart that is given no key.

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("Gossip encryption")
    struct Encryption {
        static let keyA = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
        static let keyB = "Uf4vtT7oV7fdQiu2PmcnQSqJa9HtZq9fY2SyIhDtPZU="

        static let capture: String = {
            let folder = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            return folder + "/python/gossip_capture.py"
        }()

        static func agent(_ h: Harness, _ name: String, _ ip: String, seed: String, extra: [String], join: [String]? = nil) -> TestAgent {
            let a = h.addAgent(name: name, ip: ip, retryJoin: join ?? (ip == seed ? [] : [seed]))
            a.command = [h.binary] + a.arguments + extra
            return a
        }

        static func register(_ h: Harness, _ a: TestAgent, _ json: String) throws {
            try h.eventually("\(a.name) registers \(json.prefix(40))") {
                let r = try? HTTPClient.put(a.ip, a.ports.http, "/v1/agent/service/register", body: Array(json.utf8))
                return (r?.status == 200, r.map { "\($0.status) \($0.text)" } ?? "unreachable")
            }
        }

        /// Service names `a` lists in its catalog replica.
        static func services(_ a: TestAgent) -> [String] {
            guard let r = try? HTTPClient.get(a.ip, a.ports.http, "/v1/catalog/services"), r.status == 200,
                  let object = try? JSONValue.parse(r.body).objectValue else { return [] }
            return object.map(\.0).sorted()
        }

        static func serfStats(_ a: TestAgent) -> [String: String] {
            guard let r = try? HTTPClient.get(a.ip, a.ports.http, "/v1/agent/self"), r.status == 200,
                  let stats = try? JSONValue.parse(r.body)["Stats"]?["serf_lan"]?.objectValue else { return [:] }
            return Dictionary(stats.map { ($0.0, $0.1.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
        }

        @Test("5 agents with one key converge; a sixth with another key lists none and is listed by none; both sides count it; a capture of the traffic holds no node, service or tag name")
        func wrongKeyAndEavesdropper() throws {
            try Harness.run("encrypt-keys") { h in
                let ips = try LoopbackBlock.pick(count: 6, thirdOctets: [121, 131, 141], ports: h.ports)
                let names = (1...5).map { "enc-node-\($0)" }
                let agents = names.enumerated().map { i, name in Self.agent(h, name, ips[i], seed: ips[0], extra: ["-encrypt", Self.keyA]) }
                let stranger = Self.agent(h, "stranger-node", ips[5], seed: ips[0], extra: ["-encrypt", Self.keyB])
                let prefix = ips[0].split(separator: ".").prefix(3).joined(separator: ".") + "."

                // The eavesdropper listens from before the first packet (root only).
                var capturePID: pid_t?
                let ready = h.directory + "/capture.ready"
                if getuid() == 0 {
                    capturePID = try Spawn.start("/usr/bin/env", ["python3", Self.capture, "15", ready, prefix, String(h.ports.gossip)]
                                                    + names + ["stranger-node", "secret-web-svc", "zebra-tag-xyz", "10101"],
                                                 environment: Spawn.environment(), stdoutPath: h.directory + "/capture.json",
                                                 stderrPath: h.directory + "/capture.err")
                    let pid = capturePID
                    h.onTeardown { if let pid { _ = Spawn.stop(pid, graceful: false) } }
                    try h.eventually("the capture is listening", timeout: 20) { (access(ready, F_OK) == 0, FileIO.readText(h.directory + "/capture.err")) }
                } else {
                    h.note("not root: the capture part is skipped")
                }

                for a in agents { try h.start(a) }
                try Self.register(h, agents[1], #"{"Name":"secret-web-svc","Port":10101,"Tags":["zebra-tag-xyz"]}"#)
                try h.waitForExactViews("the 5 agents list each other alive", observers: agents,
                                        expected: Dictionary(uniqueKeysWithValues: names.map { ($0, MemberView.alive) }))
                try h.eventually("every agent lists secret-web-svc") {
                    let lists = agents.map(Self.services)
                    return (lists.allSatisfy { $0.contains("secret-web-svc") }, "\(lists)")
                }
                try h.start(stranger)
                try h.eventually("the stranger's join is refused and counted by the seed") {
                    let refused = Int(Self.serfStats(agents[0])["refused_wrong_key"] ?? "") ?? 0
                    return (refused > 0 && FileIO.readText(stranger.logPath).contains("no installed key opens it"),
                            "seed stats \(Self.serfStats(agents[0]))")
                }
                // Give gossip time to leak, if it would.
                usleep(3_000_000)
                try h.requireRunning(agents + [stranger])
                for a in agents {
                    let view = try h.members(of: a).map(\.name).sorted()
                    h.check(view == names.sorted(), "\(a.name) lists \(view)")
                }
                let strangerView = try h.members(of: stranger).map(\.name)
                h.check(strangerView == ["stranger-node"], "the stranger lists \(strangerView)")
                h.check(!Self.services(stranger).contains("secret-web-svc"), "the stranger learnt the catalog: \(Self.services(stranger))")
                h.check(Self.serfStats(agents[0])["encrypted"] == "true", "serf_lan.encrypted: \(Self.serfStats(agents[0]))")
                h.check(FileIO.readText(agents[0].logPath).contains("refused"), "the seed logs the refusal")

                if let pid = capturePID {
                    _ = Spawn.wait(pid, timeout: 30)
                    capturePID = nil
                    let report = try JSONValue.parse(FileIO.read(h.directory + "/capture.json"))
                    let udp = report["udp"]?.intValue ?? 0, sealed = report["udp_sealed"]?.intValue ?? -1
                    h.check(udp > 20 && sealed == udp, "every gossip datagram is sealed: \(report)")
                    h.check((report["tcp_bytes"]?.intValue ?? 0) > 0, "push/pull streams were captured: \(report)")
                    h.check(report["found"]?.arrayValue?.isEmpty == true, "names in the clear: \(report)")
                }
            }
        }

        @Test("a plaintext pool moves to encryption by three rolling restarts (verify off, outgoing on, incoming on), every member alive and every registration listed after each restart")
        func rollingEnablement() throws {
            try Harness.run("encrypt-rolling") { h in
                let ips = try LoopbackBlock.pick(count: 5, thirdOctets: [122, 132, 142], ports: h.ports)
                let names = (1...5).map { "roll\($0)" }
                // Each restarted agent must find the pool again: all of them
                // retry-join the others, as a deployment's agents join its servers.
                let agents = names.enumerated().map { i, name in
                    Self.agent(h, name, ips[i], seed: ips[0], extra: [], join: ips.filter { $0 != ips[i] })
                }
                let expected = Dictionary(uniqueKeysWithValues: names.map { ($0, MemberView.alive) })
                for a in agents { try h.start(a) }
                try h.waitForExactViews("the plaintext pool converges", observers: agents, expected: expected)
                for (i, a) in agents.enumerated() {
                    try Self.register(h, a, #"{"Name":"svc\#(i + 1)","Port":\#(9000 + i)}"#)
                }
                let everyService = (1...5).map { "svc\($0)" }
                func allListed() throws {
                    try h.eventually("every agent lists every service") {
                        let lists = agents.map(Self.services)
                        return (lists.allSatisfy { Set(everyService).isSubset(of: $0) }, "\(lists)")
                    }
                }
                try allListed()
                let steps = [(false, false), (false, true), (true, true)]
                for (stepIndex, (incoming, outgoing)) in steps.enumerated() {
                    let file = h.directory + "/gossip-\(stepIndex).json"
                    FileIO.append(file, #"{"encrypt": "\#(Self.keyA)", "encrypt_verify_incoming": \#(incoming), "encrypt_verify_outgoing": \#(outgoing)}"#)
                    for a in agents {
                        h.signal(a, SIGTERM)
                        h.check(h.waitForExit(a) == .exited(0), "\(a.name) exits 0 on SIGTERM")
                        a.command = [h.binary] + a.arguments + ["-config-file", file]
                        try h.start(a)
                        try h.waitForExactViews("step \(stepIndex + 1) (incoming \(incoming), outgoing \(outgoing)): all alive after restarting \(a.name)",
                                                observers: agents, expected: expected)
                        try allListed()
                    }
                }
                // Fully encrypted now: a plaintext agent is shut out.
                for a in agents { h.check(Self.serfStats(a)["encrypted"] == "true", "\(a.name) reports encryption on") }
                let more = try LoopbackBlock.pick(count: 1, thirdOctets: [152, 162], ports: h.ports)
                let plain = Self.agent(h, "plain", more[0], seed: ips[0], extra: [])
                try h.start(plain)
                try h.eventually("the plaintext agent is refused") {
                    (FileIO.readText(plain.logPath).contains("requires encryption"), "")
                }
                h.check(try h.members(of: agents[0]).count == 5, "no sixth member")
            }
        }

        @Test("install, use and remove across 5 agents (fedagent keyring, counts of holders); a restart without -encrypt rejoins from the data dir's keyring")
        func rotation() throws {
            try Harness.run("encrypt-rotate") { h in
                let ips = try LoopbackBlock.pick(count: 5, thirdOctets: [123, 133, 143], ports: h.ports)
                let names = (1...5).map { "rot\($0)" }
                let agents = names.enumerated().map { i, name in Self.agent(h, name, ips[i], seed: ips[0], extra: ["-encrypt", Self.keyA]) }
                let expected = Dictionary(uniqueKeysWithValues: names.map { ($0, MemberView.alive) })
                for a in agents { try h.start(a) }
                try h.waitForExactViews("5 agents converge", observers: agents, expected: expected)
                func keyring(_ args: [String], on a: TestAgent) throws -> CommandResult {
                    let r = try h.fedagent(["keyring"] + args + ["-http-addr", a.httpAddress])
                    h.check(r.status == .exited(0), "keyring \(args.joined(separator: " ")): \(r)")
                    return r
                }
                _ = try keyring(["-install", Self.keyB], on: agents[1])
                var list = try keyring(["-list"], on: agents[3]).stdout
                h.check(list.contains("\(Self.keyA) [5/5]") && list.contains("\(Self.keyB) [5/5]"), "after install: \(list)")
                _ = try keyring(["-use", Self.keyB], on: agents[2])
                list = try keyring(["-list-primary"], on: agents[0]).stdout
                h.check(list.contains("\(Self.keyB) [5/5]") && !list.contains(Self.keyA), "after use: \(list)")
                let refused = try h.fedagent(["keyring", "-remove", Self.keyB, "-http-addr", agents[0].httpAddress])
                h.check(refused.status == .exited(1) && refused.stderr.contains("Removing the primary key is not allowed"), "\(refused)")
                _ = try keyring(["-remove", Self.keyA], on: agents[4])
                list = try keyring(["-list"], on: agents[1]).stdout
                h.check(list.contains("\(Self.keyB) [5/5]") && !list.contains(Self.keyA), "after remove: \(list)")
                try h.waitForExactViews("all alive after the rotation", observers: agents, expected: expected)

                // Consul's HTTP shapes and errors, as API clients see them.
                let a = agents[0]
                let listed = try HTTPClient.get(a.ip, a.ports.http, "/v1/operator/keyring")
                let pool = (try? JSONValue.parse(listed.body))?.arrayValue?.first
                h.check(listed.status == 200 && pool?["WAN"]?.boolValue == false && pool?["Datacenter"]?.stringValue == "dc1"
                            && pool?["NumNodes"]?.intValue == 5 && pool?["Keys"]?[Self.keyB]?.intValue == 5
                            && pool?["PrimaryKeys"]?[Self.keyB]?.intValue == 5, "GET /v1/operator/keyring: \(listed.status) \(listed.text)")
                let local = try HTTPClient.get(a.ip, a.ports.http, "/v1/operator/keyring?local-only=1")
                h.check(local.text.contains("\"NumNodes\":1"), "?local-only: \(local.text)")
                for (method, body, status, text) in [
                    ("POST", #"{"Key": "not base64"}"#, 400, "Invalid key"),
                    ("POST", #"{"Key": "AAAA"}"#, 400, "must be 16, 24 or 32 bytes"),
                    ("PUT", #"{}"#, 400, "Request decode failed"),
                    ("DELETE", #"{"Key": "\#(Self.keyB)"}"#, 500, "Removing the primary key is not allowed"),
                    ("PUT", #"{"Key": "\#(Self.keyA)"}"#, 500, "Requested key is not in the keyring"),
                ] {
                    let r = try HTTPClient.request(method, a.ip, a.ports.http, "/v1/operator/keyring", body: Array(body.utf8))
                    h.check(r.status == status && r.text.contains(text), "\(method) \(body): \(r.status) \(r.text)")
                }
                let misuse = try HTTPClient.request("POST", a.ip, a.ports.http, "/v1/operator/keyring?local-only=1",
                                                    body: Array(#"{"Key": "\#(Self.keyA)"}"#.utf8))
                h.check(misuse.status == 400, "POST ?local-only: \(misuse.status) \(misuse.text)")

                // Restart one with no key at all: the keyring file has it.
                let restarted = agents[2]
                h.signal(restarted, SIGTERM)
                _ = h.waitForExit(restarted)
                let file = restarted.dataDir + "/serf/local.keyring"
                let saved = (try? JSONValue.parse(FileIO.read(file)).arrayValue?.compactMap(\.stringValue)) ?? nil
                h.check(saved == [Self.keyB], "\(file) holds \(String(describing: saved))")
                var info = stat()
                h.check(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o600, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
                restarted.command = nil
                try h.start(restarted)
                try h.waitForExactViews("the agent restarted without -encrypt is alive everywhere", observers: agents, expected: expected)
                list = try keyring(["-list"], on: restarted).stdout
                h.check(list.contains("\(Self.keyB) [5/5]"), "after the restart: \(list)")
                h.check(Self.serfStats(restarted)["encrypted"] == "true", "the restarted agent encrypts")
            }
        }
    }
}
