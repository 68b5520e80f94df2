import Glibc
import MembershipCore
import Simulation
import Primitives

// fedagent-sim: the protocol on the deterministic simulated network.
//   fedagent-sim [N ...]        convergence for each N (default 100 1000 10000)
//   fedagent-sim detect [N ...] failure detection after a crash, 5 seeds each
//   fedagent-sim loss [seeds]   false failures at N=100 with 10 % loss, 10 min
//   fedagent-sim catalog [N ...] every member registers a service under 5 % loss:
//                               time until every replica holds every record

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "detect":
    let ns = arguments.dropFirst().compactMap { Int($0) }
    print("N\tseed\tdetect_median_s\tdetect_max_s")
    for n in ns.isEmpty ? [8, 32, 64] : ns {
        for seed in UInt64(1)...5 {
            if let t = detectionTimes(n: n, seed: seed) { print("\(n)\t\(seed)\t\(t.median)\t\(t.max)") }
        }
    }
case "loss":
    let seeds = Int(arguments.dropFirst().first ?? "") ?? 5
    print("seed\tfalse_failures\tmax_health_score")
    for seed in 1...max(seeds, 1) {
        let (failures, score) = falseFailuresUnderLoss(seed: UInt64(seed))
        print("\(seed)\t\(failures)\t\(score)")
    }
case "catalog":
    let ns = arguments.dropFirst().compactMap { Int($0) }
    print("N\tloss\tconverged_s\tfalse_failures\tsimulated_in_s")
    for n in ns.isEmpty ? [100, 300, 1000] : ns {
        if let r = catalogConvergence(n: n, loss: 0.05, seed: 11) {
            print("\(n)\t0.05\t\(r.virtual)\t\(r.failures)\t\((r.wall * 10).rounded() / 10)")
        } else {
            print("\(n)\t0.05\tno\t-\t-")
        }
    }
default:
    let ns = arguments.compactMap { Int($0) }
    print("N\tjoin_converged_s\tspread_s\tspread_hops_max\tspread_hops_median\tlog2(N)")
    for n in ns.isEmpty ? [100, 1000, 10000] : ns {
        // Joining all at once through one seed is quadratic to simulate; skip it for the largest pools.
        let join = n <= 2000 ? joinConvergence(n: n).map { String($0.seconds) } ?? "no" : "-"
        let (spread, hops) = newsSpread(n: n)
        let sorted = hops.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        print("\(n)\t\(join)\t\(spread.map { String($0.seconds) } ?? "no")\t\(sorted.last ?? 0)\t\(median)\t\(log2(Double(n)))")
    }
}

/// N nodes started together, all joining through node 0: time until every view is complete.
func joinConvergence(n: Int) -> Duration? {
    var sim = Simulator(settings: .lan, seed: 42)
    for i in 0..<n {
        let id = sim.addNode()
        if i > 0 { sim.join(id, through: 0) }
    }
    let all = Set(0..<n)
    return sim.runUntil(limit: .seconds(3600)) { $0.converged(live: all) }
}

/// In a converged pool of N, one member's news (a metadata update): how
/// long and in how many hops it reaches everyone.
func newsSpread(n: Int) -> (Duration?, [Int]) {
    var sim = Simulator(settings: .lan, seed: 7)
    let ids = sim.addConvergedNodes(n)
    sim.run(for: .seconds(5))  // the nodes' own start-up announcements drain
    let origin = ids.lowerBound + n / 2
    sim.updateMeta(origin, [1])
    sim.trace(newsOf: origin)
    let took = sim.runUntil(limit: .seconds(600)) { $0.hops.count == n }
    return (took, Array(sim.hops.values))
}

func falseFailuresUnderLoss(seed: UInt64) -> (Int, Int) {
    var sim = Simulator(settings: .lan, seed: seed)
    for i in 0..<100 {
        let id = sim.addNode()
        if i > 0 { sim.join(id, through: 0) }
    }
    let all = Set(0..<100)
    _ = sim.runUntil(limit: .seconds(120)) { $0.converged(live: all) }
    sim.lossRate = 0.10
    sim.run(for: .seconds(600))
    let score = (0..<100).map { sim.instance($0)?.healthScore ?? 0 }.max() ?? 0
    return (sim.totalFailureEvents, score)
}
