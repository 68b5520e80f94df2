// Node records as gossip, push/pull and the data directory carry them:
// one record (Catalog.RecordCodec), a length-prefixed list whose bad
// entries are skipped, and the owner's local file (a record with its
// checks' specs, Catalog.RecordCodec.decodeLocal).
@testable import Agent
@testable import CatalogCore
import Sockets

func fuzz(_ bytes: [UInt8]) {
    if let record = try? Catalog.RecordCodec.decode(bytes) {
        fuzzRoundTrip(record, "record", encode: Catalog.RecordCodec.encode, decode: Catalog.RecordCodec.decode)
    }
    if let list = try? Catalog.RecordCodec.decodeList(bytes) {
        fuzzRoundTrip(list.records, "record list", encode: Catalog.RecordCodec.encode, decode: { try Catalog.RecordCodec.decodeList($0).records })
    }
    if let local = try? LocalFile(bytes) {
        fuzzRoundTrip(local, "local record", encode: \.encoded, decode: LocalFile.init)
    }
}

/// The local file's parts in a struct: handing the tuple-returning
/// decoder itself to a generic crashes swiftc 6.3.1 (SILGen reabstraction).
struct LocalFile {
    var record: Catalog.NodeRecord
    var specs: [String: Catalog.CheckSpec]

    init(_ bytes: [UInt8]) throws(DecodeError) {
        (record, specs) = try Catalog.RecordCodec.decodeLocal(bytes)
    }

    var encoded: [UInt8] { Catalog.RecordCodec.encodeLocal(record, specs: specs) }
}

func fuzzSeeds() -> [[UInt8]] {
    var record = Catalog.NodeRecord(node: "n1", id: "0d3c1b7e-41a2-4b6a-9d5e-2f8a7c6b5e4d", address: "10.0.0.1", datacenter: "dc1",
                                    taggedAddresses: ["lan": "10.0.0.1", "wan": "203.0.113.1"], meta: ["rack": "r1"], owner: "n1", version: 12)
    record.services = [
        Catalog.Service(id: "web1", name: "web", tags: ["v1"], address: "10.0.0.10", port: 8080, meta: ["k": "v"],
                        weights: Catalog.Weights(passing: 3, warning: 1), enableTagOverride: true),
        Catalog.Service(id: "proxy", name: "web-sidecar-proxy", port: 21000, kind: "connect-proxy"),
    ]
    record.checks = [
        Catalog.Check(id: "serfHealth", name: "Serf Health Status", status: .passing, type: "serf"),
        Catalog.Check(id: "service:web1", name: "web", status: .critical, notes: "n", output: "refused", serviceID: "web1",
                      serviceName: "web", serviceTags: ["v1"], type: "http", interval: "10s", timeout: "2s", target: "http://10.0.0.10:8080/health"),
    ]
    record.checks[1].deregisterCriticalAfter = "90m"
    var spec = Catalog.CheckSpec()
    spec.method = "POST"; spec.body = "{}"; spec.headers = ["X-A": ["1", "2"]]; spec.args = ["/bin/true"]
    spec.successBeforePassing = 2; spec.failuresBeforeCritical = 3
    let bare = Catalog.NodeRecord(node: "ext", address: "192.0.2.7", datacenter: "dc1", owner: "n1")
    return [
        Catalog.RecordCodec.encode(record),
        Catalog.RecordCodec.encode(bare),
        Catalog.RecordCodec.encode([record, bare]),
        Catalog.RecordCodec.encodeLocal(record, specs: ["service:web1": spec]),
    ]
}
