@testable import Agent
@testable import CatalogCore
import Sockets
import TestSupport
import Testing

@Suite struct CatalogReplicaTests {
    static let t0 = Instant(nanoseconds: 1_000_000_000)

    static func record(_ node: String, version: UInt64, services: Int = 1, owner: String? = nil) -> Catalog.NodeRecord {
        var r = Catalog.NodeRecord(node: node, id: "0edaddd9-6806-4d75-af0d-83e4527fa921", address: "10.0.0.1",
                                   datacenter: "dc1", taggedAddresses: ["lan": "10.0.0.1"], meta: ["rack": "r1"],
                                   owner: owner ?? node, version: version)
        for i in 0..<services {
            r.services.append(Catalog.Service(id: "web-\(i)", name: "web", tags: ["v1", "primary"], port: 8080 + i,
                                              meta: ["team": "a"], weights: .init(passing: 3, warning: 1)))
            r.checks.append(Catalog.Check(id: "service:web-\(i)", name: "Service 'web' check", status: .passing,
                                          output: "HTTP GET: 200 OK", serviceID: "web-\(i)", serviceName: "web",
                                          serviceTags: ["v1"], type: "http", interval: "10s", timeout: "1s"))
        }
        return r
    }

    @Test func recordsRoundTripAnySize() throws {
        for n in [0, 1, 50, 2000] {
            let r = Self.record("n1", version: 7, services: n)
            #expect(try Catalog.RecordCodec.decode(Catalog.RecordCodec.encode(r)) == r)
        }
        let list = [Self.record("a", version: 1), Self.record("b", version: 2, services: 3)]
        let decoded = try Catalog.RecordCodec.decodeList(Catalog.RecordCodec.encode(list))
        #expect(decoded.records == list)
        #expect(decoded.skipped == 0)
    }

    /// The header read before decoding says what the full decode says, and
    /// mutated bytes give a header or nil, never a trap.
    @Test func theHeaderAgreesWithTheRecordAndMutationsNeverTrap() {
        let r = Self.record("n1", version: 42, services: 3, owner: "s9")
        let bytes = Catalog.RecordCodec.encode(r)
        let header = Catalog.RecordCodec.header(bytes)
        #expect(header?.node == "n1" && header?.owner == "s9" && header?.version == 42)
        #expect(Catalog.RecordCodec.header([9] + bytes, from: 1)?.version == 42, "read from an offset (after the message kind)")
        #expect(Catalog.RecordCodec.header(Array(bytes.prefix(20))) == nil, "truncated before the version")
        #expect(Catalog.RecordCodec.header([]) == nil)
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            let mutated = Fuzzer.mutate(bytes, &rng, alphabet: [0, 1, 0xff], edits: 1...4, maxRun: 8)
            if let decoded = try? Catalog.RecordCodec.decode(mutated), let h = Catalog.RecordCodec.header(mutated) {
                #expect(h.node == decoded.node && h.owner == decoded.owner && h.version == decoded.version)
            }
        }
    }

    @Test func mutatedRecordsNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        let valid = Catalog.RecordCodec.encode([Self.record("a", version: 1, services: 3)])
        var rejected = 0
        for _ in 0..<20_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                if Bool.random(using: &rng) { bytes[at] = UInt8.random(in: 0...255, using: &rng) } else { bytes.remove(at: at) }
            }
            if (try? Catalog.RecordCodec.decodeList(bytes)) == nil { rejected += 1 }
        }
        #expect(rejected > 0)
    }

    @Test func newerVersionWinsOlderIsIgnored() {
        var replica = Catalog.Replica()
        let start = replica.index
        let changed1 = replica.apply(Self.record("n1", version: 5), now: Self.t0)
        #expect(changed1)
        let changed2 = replica.apply(Self.record("n1", version: 4, services: 3), now: Self.t0)
        #expect(!changed2)
        let changed3 = replica.apply(Self.record("n1", version: 5), now: Self.t0)
        #expect(!changed3, "the same copy again changes nothing")
        let changed4 = replica.apply(Self.record("n1", version: 6, services: 2), now: Self.t0)
        #expect(changed4)
        #expect(replica.record("n1")?.services.count == 2)
        #expect(replica.index == start + 2)
    }

    @Test func tombstoneKeepsOlderCopiesFromResurrectingARecord() {
        var replica = Catalog.Replica()
        replica.apply(Self.record("ext", version: 3, owner: "agent-a"), now: Self.t0)
        let changed5 = replica.remove(node: "ext", version: 4, now: Self.t0)
        #expect(changed5)
        let changed6 = replica.apply(Self.record("ext", version: 3, owner: "agent-a"), now: Self.t0)
        #expect(!changed6)
        let changed7 = replica.apply(Self.record("ext", version: 5, owner: "agent-a"), now: Self.t0)
        #expect(changed7, "a later registration wins")
    }

    @Test func leavingOwnerTakesItsRecordsWithIt() {
        var replica = Catalog.Replica()
        replica.apply(Self.record("a", version: 1), now: Self.t0)
        replica.apply(Self.record("ext-1", version: 1, owner: "a"), now: Self.t0)
        replica.apply(Self.record("b", version: 1), now: Self.t0)
        let removed8 = replica.removeOwned(by: "a", now: Self.t0)
        #expect(Set(removed8) == ["a", "ext-1"])
        #expect(replica.records.keys.sorted() == ["b"])
    }

    @Test func createAndModifyIndexesFollowEachEntry() {
        var replica = Catalog.Replica()
        replica.apply(Self.record("n1", version: 1), now: Self.t0)
        let first = replica.indexes["n1"]
        replica.apply(Self.record("other", version: 1), now: Self.t0)
        // Version 2 adds web-1 and leaves the node and web-0 as they were.
        replica.apply(Self.record("n1", version: 2, services: 2), now: Self.t0)
        let second = replica.indexes["n1"]
        #expect(first?.node.create == first?.node.modify)
        #expect(second?.node == first?.node, "an unchanged node keeps its indexes")
        #expect(second?.service("web-0") == first?.service("web-0"), "an unchanged service keeps its indexes")
        #expect(second?.check("service:web-0") == first?.check("service:web-0"))
        #expect(second?.service("web-1") == Catalog.IndexPair(create: replica.index, modify: replica.index), "a new service is created now")

        var changed = Self.record("n1", version: 3, services: 2)
        changed.services[0].port = 9999
        changed.meta["rack"] = "r2"
        replica.apply(changed, now: Self.t0)
        let third = replica.indexes["n1"]
        #expect(third?.service("web-0").create == first?.service("web-0").create, "CreateIndex stays")
        #expect(third?.service("web-0").modify == replica.index, "ModifyIndex moves with the service")
        #expect(third?.node.modify == replica.index, "and with the node's own fields")
        #expect(third?.service("web-1") == second?.service("web-1"), "the untouched service keeps its indexes")
        replica.remove(node: "n1", version: 4, now: Self.t0)
        #expect(replica.indexes["n1"] == nil)
    }
}
