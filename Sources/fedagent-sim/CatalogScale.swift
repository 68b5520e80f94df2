import CatalogCore
import Glibc
import Simulation

/// The catalog at scale: N converged members each register a service at
/// once under `loss`; how long (virtual seconds) until every replica holds
/// every record at its owner's version, and how long the run took (wall
/// seconds, the cost of simulating it). Nil when it did not converge in 600 s.
func catalogConvergence(n: Int, loss: Double, seed: UInt64) -> (virtual: Double, wall: Double, failures: Int)? {
    let started = monotonicSeconds()
    var sim = Simulator(settings: .lan, seed: seed)
    sim.catalog = true
    let ids = Array(sim.addConvergedNodes(n))
    sim.lossRate = loss
    for id in ids { sim.register(Catalog.Service(id: "web-\(id)", name: "web", port: 8000 + id), on: id) }
    guard let took = sim.runUntil(limit: .seconds(600), checkEvery: .seconds(1), { $0.catalogsConverged(ids) }) else {
        return nil
    }
    return (took.seconds, monotonicSeconds() - started, sim.totalFailureEvents)
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
