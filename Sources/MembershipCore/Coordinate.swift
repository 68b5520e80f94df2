import Glibc
import Primitives

/// Network coordinates: the Vivaldi algorithm with the height vector,
/// non-Euclidean adjustment and gravity of Serf's `coordinate` package
/// (Dabek et al., "Vivaldi: A Decentralized Network Coordinate System",
/// SIGCOMM 2004; Ledlie et al., "Network Coordinates in the Wild", NSDI
/// 2007). Units are seconds throughout, as in Serf, so coordinates read
/// the same as Consul's in `/v1/coordinate/*`.
public enum Vivaldi {
    /// The tunables, with Serf's defaults (`coordinate.DefaultConfig`).
    public struct Settings: Sendable, Equatable {
        /// Dimensions of the Euclidean part (Serf: 8).
        public var dimensionality = 8
        /// Error estimates are clamped to this (the starting error).
        public var errorMax = 1.5
        /// ce: how fast the error estimate follows new samples (Vivaldi §3.4).
        public var errorWeight = 0.25
        /// cc: the largest fraction of a spring's tension applied in one step.
        public var moveWeight = 0.25
        /// Samples averaged for the adjustment term (Serf's
        /// AdjustmentWindowSize): adjustment = Σ(rtt − distance) / (2 × window).
        public var adjustmentWindow = 20
        /// Least height (seconds): the access-link latency every node has.
        public var heightMin = 10e-6
        /// Round trips per peer whose median is used (a median-of-3 filter
        /// drops the odd slow sample, "in the Wild" §V).
        public var latencyFilterSize = 3
        /// Gravity pulls towards the origin with force (distance / rho)²,
        /// so the whole system cannot drift away (rho in seconds).
        public var gravityRho = 150.0

        public init() {}
    }

    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not the local dimensionality (another configuration, or junk).
        case incompatible
        /// A NaN or infinite component.
        case invalid
        /// A round trip below zero or above `Client.maxRoundTrip`.
        case roundTripOutOfRange

        public var description: String {
            switch self {
            case .incompatible: "dimensions aren't compatible"
            case .invalid: "coordinate is invalid"
            case .roundTripOutOfRange: "round trip time not in valid range"
            }
        }
    }

    /// One node's position: a Euclidean vector plus a height (the latency
    /// of its own access link), an adjustment for what the Euclidean model
    /// cannot express, and the node's confidence (error, 0 best).
    public struct Coordinate: Sendable, Equatable {
        public var vector: [Double]
        public var error: Double
        public var adjustment: Double
        public var height: Double

        public init(vector: [Double], error: Double, adjustment: Double, height: Double) {
            self.vector = vector
            self.error = error
            self.adjustment = adjustment
            self.height = height
        }

        /// The origin with the largest error: where every node starts.
        public init(settings: Settings = Settings()) {
            self.init(vector: Array(repeating: 0, count: settings.dimensionality), error: settings.errorMax,
                      adjustment: 0, height: settings.heightMin)
        }

        /// Every component finite.
        public var isValid: Bool {
            vector.allSatisfy(\.isFinite) && error.isFinite && adjustment.isFinite && height.isFinite
        }

        public func isCompatible(with other: Coordinate) -> Bool { vector.count == other.vector.count }

        /// The estimated round trip to `other`: Euclidean distance plus both
        /// heights, plus both adjustments unless that would make it negative
        /// (Serf's DistanceTo). Nil for incompatible or invalid coordinates.
        public func distance(to other: Coordinate) -> Duration? {
            guard let seconds = distanceSeconds(to: other) else { return nil }
            return Vivaldi.duration(seconds: seconds)
        }

        public func distanceSeconds(to other: Coordinate) -> Double? {
            guard isCompatible(with: other), isValid, other.isValid else { return nil }
            let raw = rawDistance(to: other)
            let adjusted = raw + adjustment + other.adjustment
            return adjusted > 0 ? adjusted : raw
        }

        /// Distance without the adjustment terms (callers checked compatibility).
        func rawDistance(to other: Coordinate) -> Double {
            Vivaldi.magnitude(vector, minus: other.vector) + height + other.height
        }

        /// Moves this coordinate by `force` seconds along the unit vector
        /// from `other` to us (towards it when negative); the height grows
        /// or shrinks in proportion. At the same position the direction is
        /// random (from `random`), and the height is left alone.
        mutating func applyForce<R: RandomNumberGenerator>(_ force: Double, from other: Coordinate, heightMin: Double,
                                                          random: inout R) {
            let (unit, magnitude) = Vivaldi.unitVector(from: other.vector, to: vector, random: &random)
            for i in vector.indices { vector[i] += unit[i] * force }
            if magnitude > Vivaldi.zeroThreshold {
                height = max((height + other.height) * force / magnitude + height, heightMin)
            }
        }
    }

    /// Below this a distance or round trip counts as zero (Serf's threshold).
    static let zeroThreshold = 1.0e-6

    /// A non-negative finite number of seconds as a Duration (saturating at an hour).
    static func duration(seconds: Double) -> Duration {
        guard seconds.isFinite, seconds > 0 else { return .zero }
        return .nanoseconds(Int64(min(seconds, 3600) * 1e9))
    }

    static func magnitude(_ a: [Double], minus b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { let d = a[i] - b[i]; sum += d * d }
        return sum.squareRoot()
    }

    /// The unit vector pointing from `from` to `to` and the distance
    /// between them. When they coincide: a random direction and distance
    /// zero (so two nodes at one spot push each other apart).
    static func unitVector<R: RandomNumberGenerator>(from: [Double], to: [Double],
                                                     random: inout R) -> ([Double], Double) {
        var d = to.indices.map { to[$0] - from[$0] }
        let mag = magnitude(d, minus: Array(repeating: 0, count: d.count))
        if mag > zeroThreshold { return (d.map { $0 / mag }, mag) }
        for i in d.indices { d[i] = Double.random(in: -0.5..<0.5, using: &random) }
        let randomMag = magnitude(d, minus: Array(repeating: 0, count: d.count))
        if randomMag > zeroThreshold { return (d.map { $0 / randomMag }, 0) }
        var axis = Array(repeating: 0.0, count: d.count)
        if !axis.isEmpty { axis[0] = 1 }
        return (axis, 0)
    }
}

extension Vivaldi {
    /// `items` nearest first by estimated round trip from `origin`
    /// (Consul's `?near=`): a stable sort, with items whose coordinate is
    /// unknown or unusable after the others in their original order.
    /// Without an origin the order is left as it is.
    public static func sorted<T>(_ items: [T], near origin: Coordinate?, by coordinate: (T) -> Coordinate?) -> [T] {
        guard let origin else { return items }
        let keyed = items.enumerated().map { (offset, item) in
            (offset, item, coordinate(item).flatMap { origin.distanceSeconds(to: $0) } ?? .infinity)
        }
        return keyed.sorted { ($0.2, $0.0) < ($1.2, $1.0) }.map(\.1)
    }
}
