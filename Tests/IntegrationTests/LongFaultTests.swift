// The long fault runs, too long for the suite: run by bench/faults.sh
// (FEDAGENT_LONG_FAULTS=1), skipped otherwise.

import Glibc
import Testing

extension Integration {
    @Suite("Long fault runs", .enabled(if: getenv("FEDAGENT_LONG_FAULTS").map { String(cString: $0) == "1" } ?? false))
    struct LongFaults {
        @Test("10 minutes of 10 % gossip loss on every agent: no member is ever declared failed")
        func tenMinutesOfLoss() throws {
            try NetnsLab.run("longloss", datacenters: 1, servers: 1, clients: 4) { h, lab in
                let telemetry = h.directory + "/telemetry.json"
                FileIO.append(telemetry, #"{"telemetry": {"prometheus_retention_time": "60s", "disable_hostname": true}}"#)
                for agent in lab.agents { lab.addArguments(["-config-file", telemetry], to: agent) }
                try lab.startAgents()
                try lab.waitForLANPools()
                for agent in lab.agents { try Loss.nft(lab, agent, h, Loss.lossRules(10)) }
                let end = Clock.now + 600
                while Clock.now < end {
                    try h.requireRunning(lab.agents.map(\.process))
                    usleep(10_000_000)
                }
                var counts: [String] = []
                for agent in lab.agents {
                    let failed = try Loss.failures(lab, agent)
                    counts.append("\(agent.label) \(String(describing: failed))")
                    h.check(failed == 0, "\(agent.label) declared no member failed in 10 minutes of 10 % loss (\(String(describing: failed)))")
                }
                let dropped = try lab.exec(lab.agents[0].namespace, "/usr/sbin/nft", ["list", "table", "inet", "fault"]).stdout
                print("longloss: failures \(counts.joined(separator: ", ")); \(lab.agents[0].label) dropped: \(dropped.split(separator: "\n").filter { $0.contains("counter") }.map { $0.trimmingPrefix("\t") }.joined(separator: " | "))")
            }
        }

        @Test("the WAN link of a federation cut and healed ten times: each cut is noticed, each heal restores both pools and cross-datacenter reads")
        func wanCutAndHealedTenTimes() throws {
            try NetnsLab.run("wancuts", datacenters: 2, servers: 1, clients: 1) { h, lab in
                try lab.startAgents()
                try lab.waitForLANPools()
                let s1 = lab.agent(1, "s1"), s2 = lab.agent(2, "s1"), client = lab.agent(1, "c1")
                func remoteStatus() throws -> String? {
                    MembersTable(try lab.fedagent(s1, ["members", "-wan"]).stdout).statuses[s2.wanName]
                }
                try h.eventually("both servers in the WAN pool", timeout: 120) {
                    let status = try remoteStatus()
                    return (status == "alive", "\(String(describing: status))")
                }
                var times: [String] = []
                for cycle in 1...10 {
                    let cut = Clock.now
                    try lab.setWAN(up: false)
                    try h.eventually("cut \(cycle): \(s1.label) lists \(s2.wanName) not alive", timeout: 240) {
                        let status = try remoteStatus()
                        return (status != nil && status != "alive", "\(String(describing: status))")
                    }
                    let noticed = Clock.now - cut
                    try lab.setWAN(up: true)
                    let healed = Clock.now
                    try h.eventually("heal \(cycle): alive again and dc2 answers through dc1", timeout: 240) {
                        let status = try remoteStatus()
                        let read = try lab.http(client, "/v1/catalog/nodes?dc=dc2")
                        return (status == "alive" && read.status == 200 && read.body.contains("\"s1\""), "\(String(describing: status)) \(read)")
                    }
                    times.append("cut \(cycle): noticed after \(Int(noticed)) s, healed after \(Int(Clock.now - healed)) s")
                }
                print("wancuts: " + times.joined(separator: "; "))
            }
        }
    }
}
