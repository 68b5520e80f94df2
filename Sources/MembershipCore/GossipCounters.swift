/// What a gossip pool counts, cumulative since start, for metrics under
/// memberlist's names (in the comments). Plain integers: the pool and its
/// instance are loop-confined, and metrics read them on the same loop.
public struct GossipCounters: Sendable, Equatable {
    /// `memberlist.msg.alive`, `.msg.suspect`, `.msg.dead`: messages received.
    public var aliveMessages = 0
    public var suspectMessages = 0
    public var deadMessages = 0
    /// News of a new member ignored because the pool was at `Settings.memberLimit`.
    public var membersRefused = 0
    /// `memberlist.udp.sent` / `.udp.received`: bytes (and datagrams).
    public var udpSentBytes = 0
    public var udpSentPackets = 0
    public var udpReceivedBytes = 0
    public var udpReceivedPackets = 0
    /// `memberlist.tcp.sent`: push/pull bytes written; `.tcp.connect`, `.tcp.accept`: streams.
    public var tcpSentBytes = 0
    public var tcpConnects = 0
    public var tcpAccepts = 0
    /// `serf.member.join`, `.left`, `.failed`, `.update`, and `.flap`: a
    /// member back within a minute of failing.
    public var memberJoins = 0
    public var memberLeaves = 0
    public var memberFailures = 0
    public var memberUpdates = 0
    public var memberFlaps = 0
    /// `memberlist.probeNode`: how long each probe took (to its ack, or to
    /// the end of its interval when none came), in seconds.
    public var probeTimes = TimingRing()
    /// `memberlist.gossip`: how long each timer round of the pool took
    /// (gossip, probes and their bookkeeping), in seconds.
    public var gossipTimes = TimingRing()

    public init() {}
}

/// Durations (or any values) recorded one by one: how many and their sum
/// since start, and the most recent `capacity` of them, so a reader that
/// remembers `total` can take what is new since it last looked.
public struct TimingRing: Sendable, Equatable {
    public static let capacity = 256
    public private(set) var total = 0
    public private(set) var sum = 0.0
    private var values: [Double] = []
    private var head = 0

    public init() {}

    public mutating func record(_ value: Double) {
        total += 1
        sum += value
        if values.count < Self.capacity {
            values.append(value)
        } else {
            values[head] = value
            head = (head + 1) % Self.capacity
        }
    }

    /// `value` recorded `count` times (a batch's mean for each of its items).
    public mutating func record(_ value: Double, count: Int) {
        guard count > 0 else { return }
        for _ in 0..<min(count, Self.capacity) {
            if values.count < Self.capacity {
                values.append(value)
            } else {
                values[head] = value
                head = (head + 1) % Self.capacity
            }
        }
        total += count
        sum += value * Double(count)
    }

    /// The values recorded after the first `seen` (at most `capacity`, oldest first).
    public func values(after seen: Int) -> [Double] {
        let fresh = min(max(total - seen, 0), values.count)
        let ordered = values.count < Self.capacity ? values : Array(values[head...] + values[..<head])
        return Array(ordered.suffix(fresh))
    }
}
