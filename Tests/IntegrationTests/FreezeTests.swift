// Faults on real processes: a member frozen with SIGSTOP (a stalled VM, a
// GC pause of a neighbour, a debugger) comes back by refuting, and the
// members that kept running never see each other fail meanwhile.

import Glibc
import Testing

extension Integration {
    @Suite("Frozen member")
    struct Freeze {
        @Test("a member frozen with SIGSTOP for 5 s and for 20 s is alive everywhere again after SIGCONT; no other member is ever seen failing")
        func frozenMemberComesBackAndNoOneElseFlaps() throws {
            try Harness.run("freeze") { h in
                let ips = try LoopbackBlock.pick(count: 4, thirdOctets: [183, 193, 203, 213], ports: h.ports)
                let agents = ips.enumerated().map { i, ip in h.addAgent(name: "fz\(i + 1)", ip: ip, retryJoin: [ips[0]]) }
                for agent in agents { try h.start(agent) }
                let names = agents.map(\.name)
                try h.waitForExactViews("all 4 alive", observers: agents,
                                        expected: Dictionary(uniqueKeysWithValues: names.map { ($0, MemberView.alive) }))
                let frozen = agents[3], running = Array(agents.prefix(3))
                for seconds in [5, 20] {
                    h.signal(frozen, SIGSTOP)
                    var sawFrozenDown = false
                    var othersDown: [String] = []
                    let end = Clock.now + Double(seconds)
                    while Clock.now < end {
                        for observer in running {
                            guard let view = try? h.members(of: observer) else { continue }
                            for member in view where member.status != MemberView.alive {
                                if member.name == frozen.name { sawFrozenDown = true } else {
                                    othersDown.append("\(observer.name) saw \(member)")
                                }
                            }
                        }
                        usleep(300_000)
                    }
                    h.signal(frozen, SIGCONT)
                    h.note("frozen \(seconds) s: the others \(sawFrozenDown ? "declared it failed" : "never declared it failed")")
                    h.check(othersDown.isEmpty, "while \(frozen.name) was frozen \(seconds) s no one else failed: \(othersDown.prefix(5))")
                    try h.waitForExactViews("after SIGCONT (\(seconds) s) all 4 are alive everywhere", observers: agents,
                                            expected: Dictionary(uniqueKeysWithValues: names.map { ($0, MemberView.alive) }))
                }
            }
        }
    }
}
