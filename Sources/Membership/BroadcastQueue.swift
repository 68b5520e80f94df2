extension SWIM {
    /// Updates waiting to be piggybacked (memberlist's TransmitLimitedQueue).
    /// A newer update about a node replaces the older one; the least-sent
    /// go first, newest first among equals; each is dropped after it has
    /// been sent `limit` times.
    struct BroadcastQueue {
        private struct Item {
            var key: String
            var id: UInt64
            var encoded: [UInt8]
        }

        /// levels[t]: items sent t times, oldest first.
        private var levels: [[Item]] = []
        /// The current item per key; older items with the same key are stale.
        private var current: [String: UInt64] = [:]
        private var nextID: UInt64 = 1
        /// Bound on queued items: the oldest most-sent items are dropped beyond it.
        var capacity = 4096

        var count: Int { current.count }
        var isEmpty: Bool { current.isEmpty }

        /// Queues `encoded` (one message), replacing any pending one with the same key.
        mutating func enqueue(key: String, encoded: [UInt8]) {
            let id = nextID
            nextID += 1
            current[key] = id
            if levels.isEmpty { levels.append([]) }
            levels[0].append(Item(key: key, id: id, encoded: encoded))
            if current.count > capacity { dropMostSent() }
        }

        /// Takes messages that fit in `budget` bytes, each costing its length
        /// plus `overheadPerMessage`. Their send counts go up by one.
        mutating func take(budget: Int, overheadPerMessage: Int, limit: Int) -> [[UInt8]] {
            var picked: [[UInt8]] = []
            var remaining = budget
            var promoted: [(level: Int, item: Item)] = []
            for level in levels.indices {
                guard remaining > overheadPerMessage else { break }
                var kept: [Item] = []
                kept.reserveCapacity(levels[level].count)
                // Newest first: walk backwards, then restore order.
                for item in levels[level].reversed() {
                    guard current[item.key] == item.id else { continue }  // stale
                    let cost = item.encoded.count + overheadPerMessage
                    if cost <= remaining && picked.count < 255 {
                        picked.append(item.encoded)
                        remaining -= cost
                        if level + 1 < limit {
                            promoted.append((level + 1, item))
                        } else {
                            current[item.key] = nil
                        }
                    } else {
                        kept.append(item)
                    }
                }
                levels[level] = kept.reversed()
            }
            for (level, item) in promoted {
                while levels.count <= level { levels.append([]) }
                levels[level].append(item)
            }
            while let last = levels.last, last.isEmpty, levels.count > 1 { levels.removeLast() }
            return picked
        }

        /// Drops items already sent at least `limit` times (after N shrank).
        mutating func prune(limit: Int) {
            guard levels.count > limit else { return }
            for level in limit..<levels.count {
                for item in levels[level] where current[item.key] == item.id { current[item.key] = nil }
            }
            levels.removeSubrange(limit...)
        }

        private mutating func dropMostSent() {
            for level in levels.indices.reversed() {
                while let first = levels[level].first {
                    levels[level].removeFirst()
                    if current[first.key] == first.id {
                        current[first.key] = nil
                        return
                    }
                }
            }
        }
    }
}
