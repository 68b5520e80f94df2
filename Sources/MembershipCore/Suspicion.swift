import Glibc
import Primitives

extension SWIM {
    /// Lifeguard's dynamic suspicion timeout (Lifeguard IV.B): it starts at
    /// `maximum` and shrinks logarithmically as k independent members
    /// confirm the suspicion, down to `floor` (see
    /// `Settings.confirmedSuspicionTimeout`). With no confirmations
    /// possible (k = 0) it is `minimum`, memberlist's conservative min.
    struct Suspicion {
        let incarnation: UInt32
        let start: Instant
        let minimum: Duration
        let maximum: Duration
        let floor: Duration
        /// Confirmations that bring the timeout down to the floor.
        let expected: Int
        private(set) var confirmers: Set<String>

        init(incarnation: UInt32, start: Instant, from: String, minimum: Duration, maximum: Duration,
             floor: Duration, expected: Int) {
            self.incarnation = incarnation
            self.start = start
            self.minimum = minimum
            self.maximum = maximum
            self.floor = Swift.min(floor, minimum)
            self.expected = expected
            self.confirmers = [from]
        }

        /// Records an independent confirmation; true if it was new. An
        /// empty `from` (a verdict learnt by push/pull) confirms nothing.
        mutating func confirm(from: String) -> Bool {
            guard !from.isEmpty, confirmations < expected else { return false }
            return confirmers.insert(from).inserted
        }

        /// Independent confirmations beyond the accusation that started it.
        var confirmations: Int { confirmers.count - 1 }

        /// timeout = max(floor, max − (max − floor) · log(c + 1) / log(k + 1))
        var timeout: Duration {
            guard expected > 0 else { return minimum }
            let c = Double(Swift.max(confirmations, 0))
            let fraction = log(c + 1) / log(Double(expected) + 1)
            let span = Double((maximum - floor).nanoseconds)
            let t = Double(maximum.nanoseconds) - span * fraction
            return .nanoseconds(Int64(Swift.max(t, Double(floor.nanoseconds))))
        }

        var deadline: Instant { start + timeout }
    }

    /// Lifeguard local health (Lifeguard IV.A): a score that rises when this
    /// node misses acks or nacks (it is probably the slow one) and falls on
    /// success; probe interval and timeout are scaled by (score + 1).
    struct Awareness {
        let maximum: Int
        private(set) var score = 0

        init(maximum: Int) { self.maximum = Swift.max(1, maximum) }

        mutating func apply(_ delta: Int) {
            score = Swift.min(Swift.max(score + delta, 0), maximum - 1)
        }

        func scale(_ d: Duration) -> Duration { d * Double(score + 1) }
    }

    /// The instance's generator: seeded, so simulations replay exactly.
    public typealias SeededRandom = Primitives.SeededRandom
}
