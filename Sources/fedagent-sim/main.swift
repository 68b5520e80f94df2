import Membership
import Simulation
import Sockets
import Glibc

// Prints simulated convergence for growing pools: how long (virtual time,
// and gossip rounds of the LAN preset) until one node's news — a metadata
// update — has reached every member of an already converged pool.
// Usage: fedagent-sim [N ...]   (default 100 1000)

if CommandLine.arguments.dropFirst().first == "detect" {
    // fedagent-sim detect [N ...]: simulated failure detection, 5 seeds each.
    let ns = CommandLine.arguments.dropFirst(2).compactMap { Int($0) }
    print("N\tseed\tdetect_median_s\tdetect_max_s")
    for n in ns.isEmpty ? [8, 32, 64] : ns {
        for seed in UInt64(1)...5 {
            if let t = detectionTimes(n: n, seed: seed) { print("\(n)\t\(seed)\t\(t.median)\t\(t.max)") }
        }
    }
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "loss" {
    // fedagent-sim loss [seeds]: N=100, 10 % loss for 10 virtual minutes; false failures per seed.
    let seeds = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 5
    print("seed\tfalse_failures\tmax_health_score")
    for seed in 1...max(seeds, 1) {
        var sim = Simulator(settings: .lan, seed: UInt64(seed))
        for i in 0..<100 {
            let id = sim.addNode()
            if i > 0 { sim.join(id, through: 0) }
        }
        let all = Set(0..<100)
        _ = sim.runUntil(limit: .seconds(120)) { $0.converged(live: all) }
        sim.lossRate = 0.10
        sim.run(for: .seconds(600))
        let score = (0..<100).map { sim.instance($0)?.healthScore ?? 0 }.max() ?? 0
        print("\(seed)\t\(sim.totalFailureEvents)\t\(score)")
    }
    exit(0)
}
let sizes = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let ns = sizes.isEmpty ? [100, 1000] : sizes
let settings = SWIM.Settings.lan
print("N\tjoin_converged_s\tupdate_spread_s\tgossip_rounds\tpackets_per_node_per_s")
for n in ns {
    var sim = Simulator(settings: settings, seed: 42)
    for i in 0..<n {
        let id = sim.addNode()
        if i > 0 { sim.join(id, through: 0) }
    }
    let all = Set(0..<n)
    guard let joinTime = sim.runUntil(limit: .seconds(3600), { $0.converged(live: all) }) else {
        print("\(n)\tdid not converge")
        continue
    }
    sim.run(for: .seconds(30))  // let join traffic drain
    let origin = n / 2
    sim.updateMeta(origin, [1])
    let target = sim.instance(origin)?.incarnation ?? 0
    let packetsBefore = sim.packetsSent
    let spread = sim.runUntil(limit: .seconds(600)) { s in
        all.allSatisfy { (s.instance($0)?.member(named: Simulator.name(origin))?.incarnation ?? 0) >= target }
    }
    let seconds = spread?.seconds ?? -1
    let rounds = seconds / settings.gossipInterval.seconds
    let rate = Double(sim.packetsSent - packetsBefore) / Double(n) / max(seconds, 0.001)
    print("\(n)\t\(joinTime.seconds)\t\(seconds)\t\(rounds)\t\(rate)")
}
