@testable import Agent
@testable import CatalogCore
import Testing

@Suite struct ACLStoreTests {
    static func policy(_ id: String, _ rules: String, version: UInt64, writer: String = "s1") -> ACLStore.Entry {
        ACLStore.Entry(kind: .policy, id: id, version: version, writer: writer,
                       body: ACLStore.encode(ACLPolicy(id: id, name: "p-\(id)", rules: rules)))
    }

    @Test("replicas converge whatever order entries arrive in: the highest version wins, ties by writer, removals included")
    func convergence() {
        let entries = [
            Self.policy("a", #"service "web" { policy = "read" }"#, version: 10),
            Self.policy("a", #"service "web" { policy = "write" }"#, version: 12),
            Self.policy("a", #"service "web" { policy = "deny" }"#, version: 12, writer: "s0"),
            ACLStore.Entry(kind: .policy, id: "b", version: 5, writer: "s1", body: ACLStore.encode(ACLPolicy(id: "b", name: "b", rules: ""))),
            ACLStore.Entry(kind: .policy, id: "b", version: 6, writer: "s2", body: []),
        ]
        var forward = ACLStore(), backward = ACLStore()
        for e in entries { forward.apply(e) }
        for e in entries.reversed() { backward.apply(e) }
        #expect(forward.entries == backward.entries)
        #expect(forward.policies["a"]?.parsed.access(.service, "web") == .write, "version 12 by s1 beats version 12 by s0")
        #expect(forward.policies["b"] == nil && backward.policies["b"] == nil, "the removal wins")
        let changed = forward.apply(entries[0])
        #expect(!changed, "an old entry changes nothing")
    }

    @Test("entries a peer got wrong are refused, never half-applied: bad rules, bad JSON, oversized bodies, past the entry limit")
    func refusals() throws {
        var store = ACLStore()
        let bad = [
            Self.policy("x", #"widget "w" { policy = "read" }"#, version: 1),
            ACLStore.Entry(kind: .token, id: "t", version: 1, writer: "s1", body: Array("{".utf8)),
            ACLStore.Entry(kind: .token, id: "t", version: 1, writer: "s1", body: Array(#"{"AccessorID":"t","SecretID":""}"#.utf8)),
            ACLStore.Entry(kind: .policy, id: "big", version: 1, writer: "s1", body: [UInt8](repeating: 0x20, count: ACLStore.bodyLimit + 1)),
        ]
        for entry in bad {
            let applied = store.apply(entry)
            #expect(!applied, "\(entry.id)")
        }
        #expect(store.entries.isEmpty && store.index == 1)
        for i in 0..<ACLStore.entryLimit { store.apply(Self.policy("p\(i)", "", version: 1)) }
        let overLimit = store.apply(Self.policy("one-more", "", version: 1))
        #expect(!overLimit)
        let update = store.apply(Self.policy("p0", #"node_prefix "" { policy = "read" }"#, version: 2))
        #expect(update, "a held entry may still change")
        let wire = ACLStore.encode(Array(store.entries.values))
        #expect(try ACLStore.decode(wire).count == ACLStore.entryLimit)
        #expect(throws: (any Error).self) { try ACLStore.decode(Array(wire.prefix(wire.count - 3))) }
        #expect(throws: (any Error).self) { try ACLStore.decode([1, 0xff, 0xff, 0xff, 0xff]) }
    }

    /// Found by fuzzing: the count bound assumed 20 bytes an entry, but the
    /// least an entry takes is 17, so short entries did not read back.
    @Test("the shortest entries the encoder writes decode again")
    func shortestEntriesRoundTrip() throws {
        let entries = (0..<5).map { ACLStore.Entry(kind: .bootstrap, id: "", version: UInt64($0), writer: "w", body: []) }
        #expect(try ACLStore.decode(ACLStore.encode(entries)) == entries)
        #expect(try ACLStore.decode(ACLStore.encode([ACLStore.Entry(kind: .policy, id: "", version: 1, writer: "", body: [])])).count == 1)
    }

    @Test("tokens resolve to their policies' rules; the initial management secret, the default token and unknown secrets")
    func resolution() throws {
        var settings = ACLSettings()
        settings.enabled = true
        settings.defaultAllow = false
        settings.initialManagement = "root-secret"
        let state = ACLState(settings: settings, writer: "s1", dataDir: nil)
        var published: [ACLStore.Entry] = []
        state.publish = { published.append($0) }
        guard case .success(let policy) = state.savePolicy(id: nil, name: "web-read", description: "", rules: #"service_prefix "web" { policy = "read" }"#, datacenters: []),
              case .success(let token) = state.saveToken(accessorID: nil, secretID: nil, description: "w", policies: ["web-read"], local: false) else {
            Issue.record("writes failed")
            return
        }
        #expect(token.policies == [policy.id] && published.count == 2)
        #expect(state.resolve(token.secretID).authorizer?.allows(.service, "web-api", .read) == true)
        #expect(state.resolve(token.secretID).authorizer?.allows(.service, "db", .read) == false)
        #expect(state.resolve("root-secret").authorizer?.isManagement == true)
        #expect(state.resolve(nil).authorizer?.allows(.service, "web", .read) == false, "anonymous under default deny")
        #expect(state.resolve("nobody").authorizer == nil, "ACL not found")
        #expect(state.resolve(nil).accessorID == ACLToken.anonymousID)
        // Bad input is a 400 with Consul's words, and changes nothing.
        if case .failure(let f) = state.savePolicy(id: nil, name: "web-read", description: "", rules: "", datacenters: []) {
            #expect(f.status == 400 && f.description.contains("already exists"))
        } else { Issue.record("a second policy of the same name was accepted") }
        if case .failure(let f) = state.savePolicy(id: nil, name: "bad", description: "", rules: "service {", datacenters: []) {
            #expect(f.status == 400 && f.description.hasPrefix("Invalid Policy"))
        } else { Issue.record("bad rules were accepted") }
        if case .failure(let f) = state.saveToken(accessorID: nil, secretID: nil, description: "", policies: ["nope"], local: false) {
            #expect(f.description.contains("cannot find policy nope"))
        } else { Issue.record("a token with an unknown policy was accepted") }
        #expect(published.count == 2)
        // Bootstrap once; the bootstrap token is management; deleting a token revokes it.
        guard case .success(let root) = state.bootstrap() else { Issue.record("bootstrap failed"); return }
        #expect(state.resolve(root.secretID).authorizer?.isManagement == true)
        if case .failure(let f) = state.bootstrap() { #expect(f.status == 403 && f.description.contains("ACL bootstrap no longer allowed")) }
        #expect(state.deleteToken(token.accessorID) && state.resolve(token.secretID).authorizer == nil)

        // The default token stands in for requests without one.
        var withDefault = settings
        withDefault.defaultToken = root.secretID
        let other = ACLState(settings: withDefault, writer: "c1", dataDir: nil)
        for entry in published { _ = other.receive(entry) }
        #expect(other.resolve(nil).authorizer?.isManagement == true)
    }
}
