import Agent
import Sockets

/// Consul's blocking queries (`?index=N&wait=5m`): a read whose index is
/// the current one is parked until the catalog (or the event list) changes
/// or the wait ends.
/// On a change the owner re-renders the read and parks it again if its
/// answer is unchanged, so a watcher of one service is not woken by every
/// other service's news. Waiters are closures in a table with one loop
/// timer each: no thread per waiter. Loop-confined.
final class BlockingQueries {
    private struct Waiter {
        let timer: TimerID
        /// Called with `true` when the catalog changed, `false` at the deadline.
        let resume: (_ changed: Bool) -> Void
    }

    private let loop: EventLoop
    private var waiters: [UInt64: Waiter] = [:]
    private var nextID: UInt64 = 1
    private var wakeScheduled = false

    static let defaultWait: Duration = .seconds(300)
    static let maxWait: Duration = .seconds(600)

    init(loop: EventLoop) { self.loop = loop }

    var count: Int { waiters.count }

    /// The deadline of a new wait: `wait` plus up to wait/16 of jitter, as
    /// Consul, so that watchers do not return in lockstep.
    func deadline(wait: Duration) -> Instant {
        loop.now() + wait + wait / 16 * Double.random(in: 0...1)
    }

    /// Parks `resume` until the next change or `deadline`.
    func park(until deadline: Instant, resume: @escaping (_ changed: Bool) -> Void) {
        let id = nextID
        nextID += 1
        let timer = loop.schedule(after: max(.zero, deadline - loop.now())) { [weak self] in
            guard let waiter = self?.waiters.removeValue(forKey: id) else { return }
            waiter.resume(false)
        }
        waiters[id] = Waiter(timer: timer, resume: resume)
    }

    /// What the waiters wait on changed: every waiter is answered, once
    /// the current handler has finished (never re-entrantly).
    func changed() {
        guard !wakeScheduled, !waiters.isEmpty else { return }
        wakeScheduled = true
        loop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            wakeScheduled = false
            let woken = waiters
            waiters.removeAll(keepingCapacity: true)
            for waiter in woken.values {
                loop.cancel(waiter.timer)
                waiter.resume(true)
            }
        }
    }

    /// `?wait=` as Consul reads it: a Go duration, default 5 min, at most 10 min.
    static func wait(_ text: String?) -> Duration? {
        guard let text, !text.isEmpty else { return defaultWait }
        guard let d = GoDuration.parse(text) else { return nil }
        return min(d, maxWait)
    }
}
