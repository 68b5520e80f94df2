// Gossip datagrams (SWIM.WireCodec.decodePacket: one message or a
// compound), and what rides inside them: member metadata (MemberTags) in
// alive messages and the agent's user messages (catalog records, notices,
// ACL entries, user events), read as CatalogSync reads them.
import Agent
@testable import Membership
@testable import MembershipCore
import Sockets

func fuzz(_ bytes: [UInt8]) {
    guard let messages = try? SWIM.WireCodec.decodePacket(bytes) else { return }
    fuzzRoundTrip(messages, "gossip packet",
                  encode: { SWIM.WireCodec.packet($0.map(SWIM.WireCodec.encode)) },
                  decode: SWIM.WireCodec.decodePacket)
    for message in messages {
        switch message {
        case .alive(let alive): _ = MemberTags.decode(alive.meta)
        case .user(let payload): userMessage(payload)
        default: break
        }
    }
}

/// CatalogSync.userMessageReceived's reading of a user message, by its
/// first byte (CatalogSync.MessageKind).
func userMessage(_ bytes: [UInt8]) {
    guard let kind = bytes.first else { return }
    let body = Array(bytes.dropFirst())
    var r = ByteReader(bytes, from: 1)
    switch kind {
    case 1:
        if let record = try? Catalog.RecordCodec.decode(body) {
            fuzzRoundTrip(record, "catalog record", encode: Catalog.RecordCodec.encode, decode: Catalog.RecordCodec.decode)
        }
    case 2, 3: _ = (try? r.string16(), try? r.string16(), try? r.u64())
    case 4:
        if let entries = try? ACLStore.decode(body) {
            fuzzRoundTrip(entries, "ACL entries", encode: ACLStore.encode, decode: ACLStore.decode)
        }
    case 5: _ = (try? r.string16(), try? r.u8(), try? r.string16(), try? r.u64())
    case 6:
        if let event = try? UserEvent.decode(body) {
            fuzzRoundTrip(event, "user event", encode: { $0.encoded() }, decode: UserEvent.decode)
        }
    default: break
    }
}

func fuzzSeeds() -> [[UInt8]] {
    let a = Endpoint(ipv4: 10, 0, 0, 1, port: 8301)
    let meta = MemberTags.encode([("role", "node"), ("dc", "dc1"), ("id", "0d3c1b7e-41a2-4b6a-9d5e-2f8a7c6b5e4d"), ("x", "y")])
    let record = Catalog.NodeRecord(node: "n1", address: "10.0.0.1", datacenter: "dc1", owner: "n1", version: 3,
                                    services: [Catalog.Service(id: "web1", name: "web", tags: ["v1"], port: 80)],
                                    checks: [Catalog.Check(id: "c", name: "c", status: .passing, serviceID: "web1")])
    var notice = ByteWriter()
    notice.u8(2); notice.string16("n1"); notice.string16("n1"); notice.u64(4)
    let acl = ACLStore.encode([ACLStore.Entry(kind: .policy, id: "p1", version: 1, writer: "s1",
                                              body: Array(#"{"ID":"p1","Name":"p","Rules":"node_prefix \"\" { policy = \"read\" }"}"#.utf8))])
    let event = UserEvent(id: "e1", name: "deploy", payload: Array("v2".utf8), nodeFilter: "n.*").encoded()
    let messages: [[SWIM.Message]] = [
        [.ping(SWIM.Ping(sequence: 7, target: "n2", source: "n1", targetIncarnation: 2, suspectsTarget: true, senderLiveMembers: 3))],
        [.ping(SWIM.Ping(sequence: 8, target: "n2", source: "n1")), .coordinateRequest],
        [.ack(sequence: 8, liveMembers: 3), .coordinate(Vivaldi.Coordinate(vector: [0.001, -0.002], error: 1.5, adjustment: 0, height: 1e-5))],
        [.indirectPing(SWIM.IndirectPing(sequence: 9, target: "n3", targetAddress: a, wantsNack: true, source: "n1")), .nack(sequence: 9)],
        [.alive(SWIM.Alive(incarnation: 1, name: "n1", address: a, meta: meta)),
         .suspect(SWIM.Accusation(incarnation: 2, name: "n2", from: "n1")), .dead(SWIM.Accusation(incarnation: 3, name: "n3", from: "n3"))],
        [.user([1] + Catalog.RecordCodec.encode(record)), .user(notice.bytes)],
        [.user([4] + acl), .user([6] + event)],
    ]
    return messages.map { SWIM.WireCodec.packet($0.map(SWIM.WireCodec.encode)) }
}
