/// Lets a log line about one peer and reason through once per window, so
/// a flood of refused packets from a stranger costs one line a minute,
/// not one per packet. Bounded: when full, the oldest half is forgotten.
public struct LogLimiter: Sendable {
    public let window: Duration
    public let capacity: Int
    private var lastLogged: [String: Instant] = [:]

    public init(window: Duration = .seconds(60), capacity: Int = 256) {
        self.window = window
        self.capacity = capacity
    }

    /// True if a line for `key` may be written at `now` (and remembers it).
    public mutating func allow(_ key: String, now: Instant) -> Bool {
        if let last = lastLogged[key], now - last < window { return false }
        if lastLogged.count >= capacity {
            let keep = lastLogged.sorted { $0.value > $1.value }.prefix(capacity / 2)
            lastLogged = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
        lastLogged[key] = now
        return true
    }
}
