import Membership
import Simulation
import Sockets

// Prints simulated convergence for growing pools: how long (virtual time,
// and gossip rounds of the LAN preset) until one node's news — a metadata
// update — has reached every member of an already converged pool.
// Usage: fedagent-sim [N ...]   (default 100 1000)

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
