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
        /// Items held in `levels`, stale ones included: compacted when the
        /// stale outnumber the current, so updates that replace each other
        /// (and a node with no peer to send them to) cannot grow the queue.
        private(set) var stored = 0

        var count: Int { current.count }
        var isEmpty: Bool { current.isEmpty }

        /// Queues `encoded` (one message), replacing any pending one with the same key.
        mutating func enqueue(key: String, encoded: [UInt8]) {
            let id = nextID
            nextID += 1
            current[key] = id
            if levels.isEmpty { levels.append([]) }
            levels[0].append(Item(key: key, id: id, encoded: encoded))
            stored += 1
            if stored > 2 * max(current.count, 64) { compact() }
            if current.count > capacity { dropMostSent() }
        }

        private mutating func compact() {
            // A copy: the closure must not read `self` while `levels` is being mutated.
            let live = current
            levels = levels.map { items in items.filter { live[$0.key] == $0.id } }
            stored = current.count
        }

        /// Takes messages that fit in `budget` bytes, each costing its length
        /// plus `overheadPerMessage`. Their send counts go up by one.
        /// Each level is scanned from its newest end only as far as needed:
        /// until the budget is spent, or past `missLimit` live items that
        /// did not fit (they wait for the next packet). A pool's queue can
        /// hold thousands of items, and this runs for every packet.
        mutating func take(budget: Int, overheadPerMessage: Int, limit: Int) -> [[UInt8]] {
            var picked: [[UInt8]] = []
            var remaining = budget
            var promoted: [(level: Int, item: Item)] = []
            var removed = 0
            for level in levels.indices {
                guard remaining > overheadPerMessage, picked.count < 255 else { break }
                // Live items of the scanned tail that stay, newest first.
                var kept: [Item] = []
                var misses = 0
                var scanned = 0
                for item in levels[level].reversed() {
                    guard remaining > overheadPerMessage, picked.count < 255, misses < Self.missLimit else { break }
                    scanned += 1
                    guard current[item.key] == item.id else { continue }  // stale: dropped here
                    let cost = item.encoded.count + overheadPerMessage
                    if cost <= remaining {
                        picked.append(item.encoded)
                        remaining -= cost
                        if level + 1 < limit {
                            promoted.append((level + 1, item))
                        } else {
                            current[item.key] = nil
                        }
                    } else {
                        kept.append(item)
                        misses += 1
                    }
                }
                guard scanned > 0 else { continue }
                levels[level].removeLast(scanned)
                levels[level].append(contentsOf: kept.reversed())
                removed += scanned - kept.count
            }
            for (level, item) in promoted {
                while levels.count <= level { levels.append([]) }
                levels[level].append(item)
            }
            while let last = levels.last, last.isEmpty, levels.count > 1 { levels.removeLast() }
            stored += promoted.count - removed
            return picked
        }

        /// Live items that did not fit, after which a level's scan stops.
        static let missLimit = 32

        /// Drops items already sent at least `limit` times (after N shrank).
        mutating func prune(limit: Int) {
            guard levels.count > limit else { return }
            for level in limit..<levels.count {
                for item in levels[level] where current[item.key] == item.id { current[item.key] = nil }
            }
            levels.removeSubrange(limit...)
            stored = levels.reduce(0) { $0 + $1.count }
        }

        /// Drops the oldest of the most-sent items down to 7/8 of the
        /// capacity at once (one pass, not one shift of the queue per item).
        private mutating func dropMostSent() {
            compact()
            var excess = current.count - capacity * 7 / 8
            for level in levels.indices.reversed() where excess > 0 {
                let cut = min(excess, levels[level].count)
                for item in levels[level].prefix(cut) { current[item.key] = nil }
                levels[level].removeFirst(cut)
                excess -= cut
            }
            stored = current.count
        }
    }
}
