@testable import CatalogCore
import Primitives
import Testing

/// `Catalog.Sync` as a pure core: push/pull digests against the owner's records.
@Suite struct CatalogSyncCoreTests {
    static let time = Catalog.Sync.Time(now: Instant(nanoseconds: 1_000_000_000), wallMillis: 5_000)

    static func owner() -> Catalog.Sync {
        var sync = Catalog.Sync(local: Catalog.NodeRecord(node: "s1", address: "10.0.0.1", datacenter: "dc1", owner: "s1"),
                                broadcastLimit: 1_200)
        var out: [Catalog.Sync.Output] = []
        sync.updateLocal(at: time, into: &out) { $0.services = [Catalog.Service(id: "web", name: "web", port: 80)] }
        return sync
    }

    static func state(_ entries: [Catalog.DigestEntry]) -> [UInt8] {
        Catalog.PushPullState(digest: entries, records: []).encode()
    }

    /// A peer holding our version with other content (a previous run's lost
    /// last write) is outvoted; a peer holding exactly our record is not.
    @Test func aDigestOfOurVersionWithOtherContentIsOutvotedAndAnExactCopyIsNot() throws {
        var sync = Self.owner()
        let version = sync.local.version
        var out: [Catalog.Sync.Output] = []
        let same = Catalog.DigestEntry(node: "s1", owner: "s1", version: version,
                                       fingerprint: Catalog.RecordCodec.fingerprint(sync.local))
        #expect(sync.merge(state: Self.state([same]), at: Self.time, into: &out) != nil)
        #expect(sync.local.version == version, "an exact copy changes nothing")
        #expect(out.isEmpty, "nothing saved or gossiped: \(out)")

        var lost = sync.local
        lost.services.append(Catalog.Service(id: "extra", name: "extra"))
        let other = Catalog.DigestEntry(node: "s1", owner: "s1", version: version,
                                        fingerprint: Catalog.RecordCodec.fingerprint(lost))
        #expect(sync.merge(state: Self.state([other]), at: Self.time, into: &out) != nil)
        #expect(sync.local.version > version, "our record is published again above the copy")
        #expect(sync.local.services.map(\.id) == ["web"], "with our content")
        #expect(out.first == .saveLocal)
        #expect(out.contains { if case .broadcast(_, key: "catalog:s1") = $0 { true } else { false } })
    }

    /// A copy of another node at the version we hold, whatever its content,
    /// is for its owner to settle: nothing is pulled or changed.
    @Test func anotherOwnersRecordAtOurVersionIsLeftToItsOwner() throws {
        var sync = Self.owner()
        let peer = Catalog.NodeRecord(node: "s2", address: "10.0.0.2", datacenter: "dc1", owner: "s2", version: 7)
        var out: [Catalog.Sync.Output] = []
        #expect(sync.merge(state: Catalog.PushPullState(digest: [], records: [peer]).encode(), at: Self.time, into: &out) != nil)
        #expect(sync.replica.record("s2") == peer)
        out.removeAll()
        let other = Catalog.DigestEntry(node: "s2", owner: "s2", version: 7, fingerprint: 1)
        _ = sync.merge(state: Self.state([other]), at: Self.time, into: &out)
        #expect(out.isEmpty, "\(out)")
        #expect(sync.replica.record("s2") == peer)
    }
}
