/// A min-heap of payloads ordered by deadline; equal deadlines keep
/// insertion order, so timers fire first-in first-out and simulations
/// replay exactly.
public struct TimedQueue<Payload> {
    private var items: [(deadline: Instant, order: UInt64, payload: Payload)] = []
    private var counter: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }

    public func peek() -> (deadline: Instant, payload: Payload)? {
        items.first.map { ($0.deadline, $0.payload) }
    }

    public mutating func push(_ deadline: Instant, _ payload: Payload) {
        counter += 1
        items.append((deadline, counter, payload))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the earliest entry.
    public mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && less(left, smallest) { smallest = left }
            if right < items.count && less(right, smallest) { smallest = right }
            if smallest == parent { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        items[a].deadline < items[b].deadline
            || (items[a].deadline == items[b].deadline && items[a].order < items[b].order)
    }
}
