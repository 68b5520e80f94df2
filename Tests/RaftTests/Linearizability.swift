import Primitives

/// A history of operations on registers (one per key) and a checker for
/// linearizability: Wing and Gong's search, with the memoization of
/// Lowe's refinement (a set of linearized operations and the register's
/// value, seen once). An operation without a response (its client gave up,
/// its server crashed) may have taken effect at any time after its call,
/// or never.
final class History {
    enum Kind: Equatable {
        case write(String)
        /// The value read (nil: the key was absent).
        case read(String?)
    }

    struct Operation {
        var key: String
        var kind: Kind
        var call: Instant
        var response: Instant?
    }

    private(set) var operations: [Operation] = []

    func call(_ key: String, _ kind: Kind, at time: Instant) -> Int {
        operations.append(Operation(key: key, kind: kind, call: time, response: nil))
        return operations.count - 1
    }

    func respond(_ op: Int, at time: Instant, read value: String?? = .none) {
        operations[op].response = time
        if case .some(let value) = value { operations[op].kind = .read(value) }
    }

    /// Forgets an operation that had no effect: a read that failed, a
    /// write whose log index went to another leader's entry.
    func drop(_ op: Int) { dropped.insert(op) }
    private(set) var dropped: Set<Int> = []
    func isOpen(_ op: Int) -> Bool { operations[op].response == nil && !dropped.contains(op) }

    var completed: Int { operations.indices.filter { operations[$0].response != nil && !dropped.contains($0) }.count }

    /// Nil when every key's history is linearizable, else the key that is not.
    func firstNonLinearizableKey() -> String? {
        let live = operations.indices.filter { !dropped.contains($0) }.map { operations[$0] }
        let keys = Set(live.map(\.key)).sorted()
        return keys.first { key in !Self.linearizable(live.filter { $0.key == key }) }
    }

    static func linearizable(_ ops: [Operation]) -> Bool {
        let ops = ops.sorted { $0.call < $1.call }
        var search = Search(ops: ops)
        return search.run(done: Bits(count: ops.count), value: nil)
    }

    struct Bits: Hashable {
        var words: [UInt64]
        init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }
        func has(_ i: Int) -> Bool { words[i / 64] & (1 << UInt64(i % 64)) != 0 }
        func with(_ i: Int) -> Bits {
            var copy = self
            copy.words[i / 64] |= 1 << UInt64(i % 64)
            return copy
        }
    }

    struct Search {
        let ops: [Operation]
        var seen: Set<State> = []
        struct State: Hashable {
            var done: Bits
            var value: String?
        }

        mutating func run(done: Bits, value: String?) -> Bool {
            // Every completed operation placed: the open ones may never have happened.
            let pending = ops.indices.filter { !done.has($0) }
            guard pending.contains(where: { ops[$0].response != nil }) else { return true }
            // The next one must have been called before any pending one returned.
            let deadline = pending.compactMap { ops[$0].response }.min() ?? Instant(nanoseconds: .max)
            for i in pending where ops[i].call <= deadline {
                let next: String?
                switch ops[i].kind {
                case .write(let v): next = v
                case .read(let v):
                    guard v == value else { continue }
                    next = value
                }
                let state = State(done: done.with(i), value: next)
                guard seen.insert(state).inserted else { continue }
                if run(done: state.done, value: next) { return true }
            }
            return false
        }
    }
}
