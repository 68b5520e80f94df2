import MembershipCore
import Simulation
import Primitives

/// Failure detection in the simulator: kill one node of a converged pool
/// and report when the survivors mark it failed (median and max, seconds).
func detectionTimes(n: Int, seed: UInt64) -> (median: Double, max: Double)? {
    var sim = Simulator(settings: .lan, seed: seed)
    for i in 0..<n {
        let id = sim.addNode()
        if i > 0 { sim.join(id, through: 0) }
    }
    let all = Set(0..<n)
    guard sim.runUntil(limit: .seconds(600), { $0.converged(live: all) }) != nil else { return nil }
    sim.run(for: .seconds(10))
    let victim = n / 2
    sim.crash(victim)
    let killedAt = sim.now
    var seen: [Int: Double] = [:]
    let survivors = all.subtracting([victim])
    _ = sim.runUntil(limit: .seconds(120)) { s in
        for id in survivors where seen[id] == nil && s.status(of: victim, seenBy: id) == .dead {
            seen[id] = (s.now - killedAt).seconds
        }
        return seen.count == survivors.count
    }
    let times = seen.values.sorted()
    guard !times.isEmpty else { return nil }
    return (times[times.count / 2], times.last ?? 0)
}
