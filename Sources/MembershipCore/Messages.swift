import Primitives

extension SWIM {
    /// Gossip message kinds. The numbers are the wire format:
    /// ONLY APPEND TO THIS LIST, never renumber.
    enum Kind: UInt8 {
        case ping = 1
        case indirectPing = 2
        case ack = 3
        case nack = 4
        case alive = 5
        case suspect = 6
        case dead = 7
        case user = 8
        case compound = 9
        case pushPull = 10
        /// Rides in a compound with a ping: "put your coordinate in the ack".
        /// Peers that predate it skip it (unknown kinds in a compound are).
        case coordinateRequest = 11
        /// The sender's network coordinate, in a compound with its ack.
        case coordinate = 12
    }

    /// The first byte of every packet and push/pull frame. Version 1 is
    /// plaintext; encryption and compression will take new values.
    package static let wireVersion: UInt8 = 1

    struct Ping: Equatable {
        var sequence: UInt32
        /// The member the sender means to probe; a different node now at
        /// that address ignores the ping.
        var target: String
        var source: String
        /// The prober's view of the target: the incarnation it knows and
        /// whether it suspects it. A target that finds the view stale
        /// answers with its own alive message (and refutes if suspected).
        var targetIncarnation: UInt32 = 0
        var suspectsTarget = false
        /// How many live members the sender knows (see `Instance.compareViews`).
        var senderLiveMembers: UInt32 = 0
    }

    struct IndirectPing: Equatable {
        var sequence: UInt32
        var target: String
        var targetAddress: Endpoint
        var wantsNack: Bool
        var source: String
    }

    struct Alive: Equatable {
        var incarnation: UInt32
        var name: String
        var address: Endpoint
        var meta: [UInt8]
    }

    /// Suspect and dead share a shape. A dead message whose `from` is the
    /// node itself is a graceful leave.
    struct Accusation: Equatable {
        var incarnation: UInt32
        var name: String
        var from: String
    }

    enum Message: Equatable {
        case ping(Ping)
        case indirectPing(IndirectPing)
        /// `liveMembers`: how many live members the sender knows.
        case ack(sequence: UInt32, liveMembers: UInt32)
        case nack(sequence: UInt32)
        case alive(Alive)
        case suspect(Accusation)
        case dead(Accusation)
        case user([UInt8])
        case coordinateRequest
        case coordinate(Vivaldi.Coordinate)
    }

    /// What the other messages of a packet say about its ping or ack:
    /// whether the ping asks for our coordinate, and the coordinate that
    /// came with an ack (memberlist's ack payload, for Serf's coordinates).
    struct Companions {
        var coordinateRequested = false
        var coordinate: Vivaldi.Coordinate?

        init(_ messages: [Message]) {
            for message in messages {
                switch message {
                case .coordinateRequest: coordinateRequested = true
                case .coordinate(let c): coordinate = c
                default: break
                }
            }
        }
    }

    /// One member's row in a push/pull exchange.
    struct NodeState: Equatable {
        var name: String
        var address: Endpoint
        var meta: [UInt8]
        var incarnation: UInt32
        var status: Status
    }

    struct PushPull: Equatable {
        var join: Bool
        var nodes: [NodeState]
        /// The layer above's own state (the agent's catalog later on).
        var userState: [UInt8]
    }
}

extension SWIM {
    /// A single suspect message as a packet, for fault-injection tests and tools.
    public static func encodeSuspicionForTesting(name: String, incarnation: UInt32, from: String) -> [UInt8] {
        WireCodec.packet([WireCodec.encode(.suspect(Accusation(incarnation: incarnation, name: name, from: from)))])
    }
}
