// kill -9 in the middle of registrations: every registration the agent
// acknowledged is back after a restart, exactly once (group commit answers
// only once a change is on disk).

import Glibc
import JSON
import Testing

extension Integration {
    @Suite("kill -9 during registrations")
    struct CrashRestart {
        static let writers = 4
        static let cycles = 3

        /// A shell loop registering `count` items through curl and writing
        /// the name of each one answered 200 to `acked`.
        static func writer(_ agent: TestAgent, kind: String, prefix: String, acked: String) -> [String] {
            let base = "http://\(agent.ip):\(agent.ports.http)"
            let request: String
            if kind == "external" {
                request = #"curl -fsS -m 5 -o /dev/null -X PUT \#(base)/v1/catalog/register -d "{\"Node\":\"$n\",\"Address\":\"10.9.0.1\",\"Service\":{\"Service\":\"db\",\"ID\":\"$n\",\"Port\":5432}}""#
            } else {
                request = #"curl -fsS -m 5 -o /dev/null -X PUT \#(base)/v1/agent/service/register -d "{\"Name\":\"web\",\"ID\":\"$n\",\"Port\":8080}""#
            }
            let script = "i=0; while [ $i -lt 400 ]; do i=$((i+1)); n=\(prefix)-$i; \(request) 2>/dev/null && echo $n >> \(acked) || sleep 0.05; done"
            return ["/bin/sh", "-c", script]
        }

        static func names(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

        @Test("kill -9 while 4 clients register: every acknowledged registration is back after the restart, once")
        func acknowledgedRegistrationsSurviveKillNine() throws {
            try Harness.run("crash-restart") { h in
                let ip = try LoopbackBlock.pick(count: 1, thirdOctets: [181, 191, 201], ports: h.ports)[0]
                let agent = h.addAgent(name: "crash1", ip: ip, retryJoin: [])
                try h.start(agent)
                try h.eventually("the agent answers") {
                    let r = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/agent/self")
                    return (r?.status == 200, "\(String(describing: r))")
                }
                var ackedExternal = Set<String>(), ackedLocal = Set<String>()
                for cycle in 1...Self.cycles {
                    var pids: [pid_t] = []
                    var files: [(kind: String, path: String)] = []
                    for w in 0..<Self.writers {
                        let kind = w % 2 == 0 ? "external" : "local"
                        let path = "\(h.directory)/acked-\(cycle)-\(w)"
                        files.append((kind, path))
                        let command = Self.writer(agent, kind: kind, prefix: "c\(cycle)w\(w)", acked: path)
                        let pid = try Spawn.start(command[0], Array(command.dropFirst()), environment: Spawn.environment(),
                                                  stdoutPath: "\(h.directory)/writer.log", stderrPath: "\(h.directory)/writer.log")
                        h.onTeardown { kill(pid, SIGKILL); _ = Spawn.wait(pid, timeout: 5) }
                        pids.append(pid)
                    }
                    // Kill once every writer has had some answers, in the middle of the stream.
                    try h.eventually("cycle \(cycle): every writer has acknowledged registrations") {
                        let counts = files.map { Self.names(FileIO.readText($0.path)).count }
                        return (counts.allSatisfy { $0 >= 20 }, "\(counts)")
                    }
                    h.signal(agent, SIGKILL)
                    _ = h.waitForExit(agent)
                    for pid in pids { kill(pid, SIGKILL); _ = Spawn.wait(pid, timeout: 10) }
                    for file in files {
                        let names = Self.names(FileIO.readText(file.path))
                        if file.kind == "external" { ackedExternal.formUnion(names) } else { ackedLocal.formUnion(names) }
                    }
                    try h.start(agent)
                    try h.eventually("cycle \(cycle): after the restart every acknowledged registration is there, once") {
                        guard let nodes = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/service/db"),
                              let dbList = (try? JSONValue.parse(nodes.body))?.arrayValue,
                              let services = try? HTTPClient.get(agent.ip, agent.ports.http, "/v1/catalog/service/web"),
                              let webList = (try? JSONValue.parse(services.body))?.arrayValue else {
                            return (false, "not answering yet")
                        }
                        let db = dbList.compactMap { $0["ServiceID"]?.stringValue }
                        let web = webList.compactMap { $0["ServiceID"]?.stringValue }
                        let lostDB = ackedExternal.subtracting(db), lostWeb = ackedLocal.subtracting(web)
                        let duplicated = db.count != Set(db).count || web.count != Set(web).count
                        return (lostDB.isEmpty && lostWeb.isEmpty && !duplicated,
                                "lost external \(lostDB.sorted().prefix(5)) (\(lostDB.count)), lost local \(lostWeb.sorted().prefix(5)) (\(lostWeb.count)), duplicates: \(duplicated)")
                    }
                }
                h.note("acknowledged before the kills: \(ackedExternal.count) external, \(ackedLocal.count) local")
                h.check(ackedExternal.count >= 20 * Self.cycles && ackedLocal.count >= 20 * Self.cycles, "the writers registered")
            }
        }
    }
}
