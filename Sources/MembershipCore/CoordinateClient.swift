import Glibc
import Primitives

extension Vivaldi {
    /// One node's coordinate and the state that moves it: a latency
    /// filter per peer and the adjustment window (Serf's `coordinate.Client`).
    /// A value, driven by `update`; the random direction used when two
    /// nodes share a position comes from the injected seed.
    public struct Client: Sendable {
        public let settings: Settings
        public private(set) var coordinate: Coordinate
        let origin: Coordinate
        var adjustmentSamples: [Double]
        var adjustmentIndex = 0
        /// Recent round trips (seconds) per peer, oldest first.
        var latencySamples: [String: [Double]] = [:]
        var random: SeededRandom
        /// Updates applied since start (or the last reset).
        public private(set) var updates = 0
        /// Times the coordinate went invalid and was reset to the origin.
        public private(set) var resets = 0

        /// Round trips above this are refused (Serf's limit).
        public static let maxRoundTrip: Duration = .seconds(10)

        public init(settings: Settings = Settings(), seed: UInt64) {
            self.settings = settings
            coordinate = Coordinate(settings: settings)
            origin = Coordinate(settings: settings)
            adjustmentSamples = Array(repeating: 0, count: max(settings.adjustmentWindow, 0))
            random = SeededRandom(seed: seed)
        }

        /// Checks a coordinate from outside (a peer, an API client).
        public func check(_ other: Coordinate) throws(Rejection) {
            guard other.vector.count == settings.dimensionality else { throw .incompatible }
            guard other.isValid else { throw .invalid }
        }

        /// Replaces our coordinate (Serf's SetCoordinate), if it is acceptable.
        public mutating func setCoordinate(_ new: Coordinate) throws(Rejection) {
            try check(new)
            coordinate = new
        }

        /// Forgets a peer's latency samples (it left the pool).
        public mutating func forget(_ node: String) { latencySamples[node] = nil }

        public var trackedPeers: Int { latencySamples.count }

        /// The estimated round trip from us to `other`.
        public func distance(to other: Coordinate) -> Duration? { coordinate.distance(to: other) }

        /// One observation: `node`, believed to be at `other`, answered in
        /// `rtt`. Moves our coordinate (Vivaldi, then the adjustment, then
        /// gravity) and returns it; a bad coordinate or round trip changes
        /// nothing and is thrown back.
        @discardableResult
        public mutating func update(node: String, coordinate other: Coordinate,
                                    rtt: Duration) throws(Rejection) -> Coordinate {
            try check(other)
            guard rtt >= .zero, rtt <= Self.maxRoundTrip else { throw .roundTripOutOfRange }
            let seconds = filtered(node, rtt.seconds)
            updateVivaldi(other, seconds)
            updateAdjustment(other, seconds)
            updateGravity()
            if coordinate.isValid {
                updates += 1
            } else {
                resets += 1
                updates = 0
                coordinate = Coordinate(settings: settings)
            }
            return coordinate
        }

        /// The median of the peer's last `latencyFilterSize` round trips.
        mutating func filtered(_ node: String, _ seconds: Double) -> Double {
            var samples = latencySamples[node] ?? []
            samples.append(seconds)
            if samples.count > max(settings.latencyFilterSize, 1) { samples.removeFirst() }
            latencySamples[node] = samples
            let sorted = samples.sorted()
            return sorted[sorted.count / 2]
        }

        /// Vivaldi §3.4: the error estimate is a moving average of the
        /// relative error, weighted by our confidence against the peer's;
        /// the step is that weight × cc × the spring's tension.
        mutating func updateVivaldi(_ other: Coordinate, _ measured: Double) {
            let rtt = max(measured, zeroThreshold)
            let estimate = coordinate.distanceSeconds(to: other) ?? 0
            let wrongness = abs(estimate - rtt) / rtt
            let totalError = max(coordinate.error + other.error, zeroThreshold)
            let weight = coordinate.error / totalError
            let ce = settings.errorWeight
            coordinate.error = min(ce * weight * wrongness + coordinate.error * (1 - ce * weight), settings.errorMax)
            let force = settings.moveWeight * weight * (rtt - estimate)
            coordinate.applyForce(force, from: other, heightMin: settings.heightMin, random: &random)
        }

        /// The adjustment is half the mean of the recent differences
        /// between measured and Euclidean-plus-height distance ("in the
        /// Wild" §VI): each side of a pair carries half of the residual.
        mutating func updateAdjustment(_ other: Coordinate, _ rtt: Double) {
            guard !adjustmentSamples.isEmpty else { return }
            adjustmentSamples[adjustmentIndex] = rtt - coordinate.rawDistance(to: other)
            adjustmentIndex = (adjustmentIndex + 1) % adjustmentSamples.count
            coordinate.adjustment = adjustmentSamples.reduce(0, +) / (2 * Double(adjustmentSamples.count))
        }

        /// A weak pull towards the origin, (distance / rho)², so the
        /// coordinates of a pool stay near it instead of drifting together.
        mutating func updateGravity() {
            let distance = origin.distanceSeconds(to: coordinate) ?? 0
            let force = -((distance / settings.gravityRho) * (distance / settings.gravityRho))
            coordinate.applyForce(force, from: origin, heightMin: settings.heightMin, random: &random)
        }
    }
}
