@testable import Agent
@testable import CatalogCore
import Sockets
import Testing
import TestSupport

/// User events: validation, the filters as Consul's agent applies them,
/// the wire form (from a stranger's side too), and the bounded log.
@Suite struct UserEventTests {
    static func event(_ n: Int, name: String = "deploy", ltime: UInt64 = 1) -> UserEvent {
        let hex = String(n, radix: 16)
        let id = "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
        return UserEvent(id: id, name: name, payload: Array("v\(n)".utf8), ltime: ltime)
    }

    @Test func validationSaysWhatIsWrong() {
        #expect(UserEvent(id: "x", name: "").validationError() == "User event missing name")
        #expect(UserEvent(id: "x", name: "a", tagFilter: "v1").validationError()
            == "Cannot provide tag filter without service filter")
        #expect(UserEvent(id: "x", name: "a", nodeFilter: "web(").validationError()?.hasPrefix("Invalid node filter: ") == true)
        let big = UserEvent(id: "x", name: "a", payload: Array(repeating: 7, count: 600))
        #expect(big.validationError()?.contains("exceeds the limit of 512 bytes") == true)
        #expect(UserEvent(id: "x", name: "a", payload: Array(repeating: 7, count: 400), nodeFilter: "^n",
                          serviceFilter: "web", tagFilter: "v1").validationError() == nil)
    }

    @Test func filtersPickNodesServicesAndTagsAsConsulDoes() {
        let services: [(name: String, tags: [String])] = [("web", ["v1", "blue"]), ("db", [])]
        func takes(_ node: String = "", _ service: String = "", _ tag: String = "") -> Bool {
            UserEvent(id: "x", name: "e", nodeFilter: node, serviceFilter: service, tagFilter: tag)
                .isFor(node: "node-7", services: services)
        }
        #expect(takes())
        #expect(takes("node"), "unanchored, as Go's MatchString")
        #expect(!takes("^web"))
        #expect(takes("", "^db$"))
        #expect(!takes("", "cache"))
        #expect(takes("", "web", "blu"))
        #expect(!takes("", "db", "v1"), "the tag must belong to a matching service")
        #expect(!takes("", "web", "green"))
        #expect(!takes("7$", "cache"))
    }

    @Test func wireFormRoundTripsAndRefusesWhatIsMalformed() throws {
        let e = UserEvent(id: "2c1e0a5b-0000-4000-8000-000000000001", name: "deploy", payload: [0, 1, 255],
                          nodeFilter: "n", serviceFilter: "web", tagFilter: "v1", ltime: 42)
        let bytes = e.encoded()
        #expect(try UserEvent.decode(bytes) == e)
        #expect(throws: DecodeError.self) { try UserEvent.decode(bytes + [0]) }
        #expect(throws: DecodeError.self) { try UserEvent.decode(Array(bytes.dropLast())) }
        #expect(throws: DecodeError.self) { try UserEvent.decode([9] + bytes.dropFirst()) }
        #expect(throws: DecodeError.self) { try UserEvent.decode(Array(repeating: 1, count: 513)) }
        #expect(throws: DecodeError.self) { try UserEvent.decode(UserEvent(id: "", name: "a").encoded()) }
        var random = SeededRandom(seed: 7)
        for _ in 0..<20_000 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) { mutated = Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &random))) }
            _ = try? UserEvent.decode(mutated)  // an answer or an error, never a trap
        }
    }

    @Test func logTakesAnEventOnceAndKeepsTheLast256() {
        var log = UserEventLog()
        #expect(log.receive(Self.event(1)) { _ in true } == .new(kept: true))
        #expect(log.receive(Self.event(1)) { _ in true } == .duplicate)
        #expect(log.receive(Self.event(2)) { _ in false } == .new(kept: false))
        #expect(log.events.map(\.id) == [Self.event(1).id])
        for n in 3..<400 { _ = log.receive(Self.event(n, ltime: UInt64(n))) { _ in true } }
        #expect(log.events.count == UserEventLog.capacity)
        #expect(log.events.first?.id == Self.event(400 - 256).id)
        #expect(log.events.last?.id == Self.event(399).id)
    }

    @Test func clockWitnessesGossipAndStaleReplaysAreDropped() {
        var log = UserEventLog()
        #expect(log.stamp() == 1)
        #expect(log.stamp() == 2)
        _ = log.receive(Self.event(1, ltime: 5000)) { _ in true }
        #expect(log.stamp() == 5001, "fired after hearing time 5000")
        #expect(log.receive(Self.event(2, ltime: 10)) { _ in true } == .tooOld)
        #expect(log.receive(Self.event(3, ltime: 4000)) { _ in true } == .new(kept: true))
    }

    @Test func seenIDsAreBoundedAndForgetTheOldest() {
        var log = UserEventLog()
        for n in 0..<(UserEventLog.seenLimit + 10) { _ = log.receive(Self.event(n, ltime: UInt64(n))) { _ in false } }
        // The first IDs are forgotten, but a replay of them is too old by then.
        #expect(log.receive(Self.event(0, ltime: 0)) { _ in true } == .tooOld)
        #expect(log.receive(Self.event(UserEventLog.seenLimit + 9, ltime: 0)) { _ in true } == .duplicate)
    }

    @Test func listIndexFollowsTheLastEventAndNames() {
        var log = UserEventLog()
        #expect(UserEventLog.index(of: log.list(name: nil)) == 1)
        _ = log.receive(Self.event(1, name: "a")) { _ in true }
        _ = log.receive(Self.event(2, name: "b")) { _ in true }
        #expect(log.list(name: "a").map(\.name) == ["a"])
        #expect(log.list(name: nil).count == 2)
        let a = UserEventLog.index(of: log.list(name: "a")), all = UserEventLog.index(of: log.list(name: nil))
        #expect(a != all && a > 1 && all > 1)
        #expect(UserEventLog.index(of: [UserEvent(id: "not-a-uuid", name: "x")]) > 1)
        // Go's api.Event.IDToIndex of this ID (Consul's documented example).
        #expect(UserEventLog.index(of: [UserEvent(id: "b54fe110-7af5-cafc-d1fb-afc8ba432b1c", name: "x")])
            == UInt64(0xb54fe1107af5cafc) ^ UInt64(0xd1fbafc8ba432b1c))
    }
}
