import Primitives

/// The SWIM protocol namespace: `SWIM.Instance` is the pure state machine,
/// `SWIM.Settings` its tunables, `SWIM.Member` one row of the membership view.
public enum SWIM {}

extension SWIM {
    public enum Status: UInt8, Sendable, CustomStringConvertible {
        case alive = 0, suspect = 1, dead = 2, left = 3

        public var description: String {
            switch self {
            case .alive: "alive"
            case .suspect: "suspect"
            case .dead: "failed"
            case .left: "left"
            }
        }
        /// Alive or suspect: still taking part in the protocol.
        public var isLive: Bool { self == .alive || self == .suspect }
    }

    public struct Member: Sendable, Equatable {
        public var name: String
        public var address: Endpoint
        /// Opaque metadata of the layer above (the agent's tags).
        public var meta: [UInt8]
        public var incarnation: UInt32
        public var status: Status
        /// When `status` last changed.
        public var since: Instant
        /// Round trip of the last direct probe answered, if any.
        public var roundTrip: Duration?

        public init(name: String, address: Endpoint, meta: [UInt8], incarnation: UInt32,
                    status: Status, since: Instant, roundTrip: Duration? = nil) {
            self.name = name
            self.address = address
            self.meta = meta
            self.incarnation = incarnation
            self.status = status
            self.since = since
            self.roundTrip = roundTrip
        }
    }

    public enum MemberEvent: Sendable, Equatable {
        case joined(Member)
        case updated(Member)
        case left(Member)
        case failed(Member)
        case reaped(Member)
    }

    /// What the instance asks its shell to do.
    public enum Directive: Sendable, Equatable {
        /// Send one UDP datagram.
        case send([UInt8], to: Endpoint)
        /// Open a TCP connection and exchange full state (push/pull).
        case pushPull(with: Endpoint, join: Bool)
        /// A membership change for the layer above.
        case event(MemberEvent)
        /// A user broadcast received from another member.
        case userMessage([UInt8])
    }
}
