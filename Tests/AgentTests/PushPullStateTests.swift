@testable import Agent
@testable import CatalogCore
import Sockets
import TestSupport
import Testing

/// The catalog's push/pull state: a digest both ways, and only the records
/// the asking side lacks in the answer.
@Suite struct PushPullStateTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)
    static func record(_ node: String, version: UInt64, owner: String? = nil) -> Catalog.NodeRecord {
        CatalogReplicaTests.record(node, version: version, owner: owner)
    }

    @Test func roundTripsDigestRecordsAndRemovals() throws {
        let state = Catalog.PushPullState(
            digest: [.init(node: "a", owner: "a", version: 3, fingerprint: 0xdead_beef), .init(node: "gone", owner: "", version: 9, removed: true)],
            records: [Self.record("a", version: 3), Self.record("ext", version: 1, owner: "a")])
        #expect(try Catalog.PushPullState.decode(state.encode()) == state)
        let empty = Catalog.PushPullState(digest: [], records: [])
        #expect(try Catalog.PushPullState.decode(empty.encode()) == empty)
    }

    @Test func malformedStatesAreErrorsNeverTraps() {
        #expect(throws: DecodeError.self) { try Catalog.PushPullState.decode([]) }
        // The record-list format of earlier versions is refused, not misread.
        #expect(throws: DecodeError.self) { try Catalog.PushPullState.decode(Catalog.RecordCodec.encode([Self.record("a", version: 1)])) }
        var huge = ByteWriter()
        huge.u8(4); huge.u32(.max)
        #expect(throws: DecodeError.self) { try Catalog.PushPullState.decode(huge.bytes) }
        let valid = Catalog.PushPullState(digest: [.init(node: "a", owner: "a", version: 3)],
                                          records: [Self.record("a", version: 3)]).encode()
        var rng = SplitMix64(seed: 7)
        var rejected = 0
        for _ in 0..<20_000 {
            let bytes = Fuzzer.mutate(valid, &rng, alphabet: [0, 1, 2, 0xff], edits: 1...4, maxRun: 8)
            if (try? Catalog.PushPullState.decode(bytes)) == nil { rejected += 1 }
        }
        #expect(rejected > 0)
    }

    @Test func theAnswerCarriesOnlyWhatTheAskerLacks() {
        var replica = Catalog.Replica()
        for r in [Self.record("same", version: 5), Self.record("newer", version: 8), Self.record("unknown", version: 1),
                  Self.record("older", version: 2), Self.record("tombstoned", version: 4), Self.record("revived", version: 6),
                  Self.record("tie", version: 5, owner: "zed")] {
            replica.apply(r, now: Self.t0)
        }
        let askerDigest: [Catalog.DigestEntry] = [
            .init(node: "same", owner: "same", version: 5),
            .init(node: "newer", owner: "newer", version: 7),
            .init(node: "older", owner: "older", version: 3),
            .init(node: "tombstoned", owner: "", version: 4, removed: true),
            .init(node: "revived", owner: "", version: 5, removed: true),
            .init(node: "tie", owner: "abe", version: 5),
        ]
        let sent = Catalog.PushPullState.records(of: replica, lackedBy: askerDigest).map(\.node).sorted()
        #expect(sent == ["newer", "revived", "tie", "unknown"])
    }

    @Test func aReplicaLacksNewerEntriesButNotRemovedOrStaleOnes() {
        var replica = Catalog.Replica()
        replica.apply(Self.record("a", version: 5), now: Self.t0)
        replica.apply(Self.record("b", version: 5), now: Self.t0)
        replica.remove(node: "b", version: 6, now: Self.t0)
        #expect(replica.lacks(.init(node: "a", owner: "a", version: 6)))
        #expect(!replica.lacks(.init(node: "a", owner: "a", version: 5)))
        #expect(replica.lacks(.init(node: "a", owner: "b", version: 5)), "the higher owner wins a tie, as apply decides")
        #expect(!replica.lacks(.init(node: "b", owner: "b", version: 6)), "a tombstone outvotes its own version")
        #expect(replica.lacks(.init(node: "b", owner: "b", version: 7)))
        #expect(replica.lacks(.init(node: "c", owner: "c", version: 1)))
        #expect(!replica.lacks(.init(node: "c", owner: "", version: 9, removed: true)))
        let digest = replica.digest()
        #expect(digest.contains(.init(node: "a", owner: "a", version: 5, fingerprint: replica.fingerprint("a"))))
        #expect(replica.fingerprint("a") == Catalog.RecordCodec.fingerprint(Self.record("a", version: 5)))
        #expect(replica.fingerprint("a") != Catalog.RecordCodec.fingerprint(Self.record("a", version: 6)))
        #expect(replica.fingerprint("b") == 0, "a removed record keeps no fingerprint")
        #expect(digest.contains(.init(node: "b", owner: "", version: 6, removed: true)))
        #expect(digest.count == 2)
    }
}
