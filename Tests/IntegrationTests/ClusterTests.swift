// Real fedagent processes on loopback (testing ladder, step 3). Behaviour
// only: every wait has a generous deadline and no timing is asserted.

import Glibc
import Testing

/// All integration tests run one at a time, to keep the number of processes
/// on a 2-core machine low.
@Suite("Integration", .serialized)
enum Integration {}

extension Integration {
    @Suite("Agents on loopback")
    struct Cluster {

        @Test("5 agents join via a seed; kill -9 shows failed, SIGTERM shows left and exits 0, a restart is alive again; `members` reports each")
        func lifecycle() throws {
            let (alive, left, failed) = (MemberView.alive, MemberView.left, MemberView.failed)
            try Harness.run("cluster") { h in
                let ips = try LoopbackBlock.pick(count: 5, thirdOctets: [77, 87, 97, 107, 117, 127], ports: h.ports)
                let seed = ips[0]
                let agents = ips.enumerated().map { index, ip in
                    h.addAgent(name: "node\(index + 1)", ip: ip, retryJoin: [seed])
                }
                let names = agents.map(\.name)

                // (a) join through one seed.
                try h.start(agents[0])
                try h.eventually("\(agents[0].name) answers GET /v1/agent/members") {
                    try h.requireRunning([agents[0]])
                    do { return (!(try h.members(of: agents[0])).isEmpty, "") } catch { return (false, "\(error)") }
                }
                for agent in agents.dropFirst() { try h.start(agent) }
                try h.waitForExactViews("all 5 agents list all 5 members alive", observers: agents,
                                        expected: Dictionary(uniqueKeysWithValues: names.map { ($0, alive) }))
                let seedView = try h.members(of: agents[0])
                for agent in agents {
                    let entry = seedView.first { $0.name == agent.name }
                    h.check(entry?.addr == agent.ip && entry?.port == Int(agent.ports.gossip),
                            "\(agent.name) should be listed at \(agent.gossipAddress), got \(entry.map(\.description) ?? "nothing")")
                }
                try checkMembersCommand(h, agents[0], expected: Dictionary(uniqueKeysWithValues: names.map { ($0, "alive") }))

                // (b) kill -9 one: the others list it failed.
                let victim = agents[2]
                h.signal(victim, SIGKILL)
                _ = h.waitForExit(victim, timeout: 30)
                var survivors = agents.filter { $0 !== victim }
                try h.waitForViews("the others list \(victim.name) failed (4)", observers: survivors) {
                    $0[victim.name] == failed
                }

                // (c) SIGTERM another: the others list it left, and it exits 0.
                let leaver = agents[4]
                h.signal(leaver, SIGTERM)
                let leaverExit = h.waitForExit(leaver, timeout: 30)
                h.check(leaverExit == .exited(0), "\(leaver.name) should exit 0 after SIGTERM, got \(leaverExit.map(\.description) ?? "still running after 30 s")")
                survivors = survivors.filter { $0 !== leaver }
                try h.waitForViews("the others list \(leaver.name) left (3)", observers: survivors) {
                    $0[leaver.name] == left && $0[victim.name] == failed
                }
                var expectedWords = Dictionary(uniqueKeysWithValues: names.map { ($0, "alive") })
                expectedWords[victim.name] = "failed"
                expectedWords[leaver.name] = "left"
                try checkMembersCommand(h, agents[0], expected: expectedWords)

                // (d) restart the one that left, same name, address and data dir.
                if leaverExit == nil { h.signal(leaver, SIGKILL); _ = h.waitForExit(leaver) }
                try h.start(leaver)
                survivors.append(leaver)
                try h.waitForViews("every running agent lists \(leaver.name) alive again", observers: survivors) { view in
                    survivors.allSatisfy { view[$0.name] == alive }
                }
            }
        }

        /// `fedagent members` against `agent`: the table, `-status` filters,
        /// `-detailed`, and the address taken from the environment.
        private func checkMembersCommand(_ h: Harness, _ agent: TestAgent, expected: [String: String]) throws {
            let all = try h.fedagent(["members", "-http-addr", agent.httpAddress])
            h.check(all.status == .exited(0), "`members` should exit 0: \(all)")
            let table = MembersTable(all.stdout)
            h.check(table.header == MembersTable.header, "`members` header should be \(MembersTable.header), got \(table.header)")
            h.check(table.rowCount == expected.count && table.statuses == expected,
                    "`members` should list \(expected.sorted { $0.key < $1.key }): \(all.stdout)")
            for member in h.agents where expected[member.name] != nil {
                let address = table.rows[member.name].flatMap { $0.count > 1 ? $0[1] : nil }
                h.check(address == member.gossipAddress, "`members` row of \(member.name) should show \(member.gossipAddress): \(all.stdout)")
            }

            let aliveOnly = try h.fedagent(["members", "-status", "alive", "-http-addr", agent.httpAddress])
            let aliveNames = expected.filter { $0.value == "alive" }
            h.check(aliveOnly.status == .exited(0) && MembersTable(aliveOnly.stdout).statuses == aliveNames,
                    "`members -status alive` should list exactly \(aliveNames.keys.sorted()): \(aliveOnly)")

            if expected.values.contains("failed") {
                let failedOnly = try h.fedagent(["members", "-status=failed", "-http-addr", agent.httpAddress])
                let failedNames = expected.filter { $0.value == "failed" }
                h.check(failedOnly.status == .exited(0) && MembersTable(failedOnly.stdout).statuses == failedNames,
                        "`members -status=failed` should list exactly \(failedNames.keys.sorted()): \(failedOnly)")
            }

            let none = try h.fedagent(["members", "-status", "nomatch", "-http-addr", agent.httpAddress])
            h.check(none.status == .exited(2), "`members -status nomatch` should exit 2: \(none)")

            let detailed = try h.fedagent(["members", "-detailed", "-http-addr", agent.httpAddress])
            h.check(detailed.status == .exited(0) && expected.keys.allSatisfy { detailed.stdout.contains($0) },
                    "`members -detailed` should exit 0 and name every member: \(detailed)")

            for variable in ["FEDAGENT_HTTP_ADDR", "CONSUL_HTTP_ADDR"] {
                let viaEnv = try h.fedagent(["members"], environment: ["\(variable)=\(agent.httpAddress)"])
                h.check(viaEnv.status == .exited(0) && MembersTable(viaEnv.stdout).statuses == expected,
                        "`members` with \(variable) set should list the same members: \(viaEnv)")
            }
        }
    }
}
