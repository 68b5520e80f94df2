extension Catalog {
    /// Consul's CreateIndex and ModifyIndex of one catalog entry.
    public struct IndexPair: Sendable, Equatable {
        public var create: UInt64
        public var modify: UInt64

        public init(create: UInt64, modify: UInt64) {
            self.create = create
            self.modify = modify
        }
    }

    /// The indexes of one node record's entries, kept per entry as Consul
    /// keeps them per table row: a change to one service moves that
    /// service's ModifyIndex only, so an answer about another service is
    /// byte-for-byte the same (which blocking queries rely on).
    public struct EntryIndexes: Sendable, Equatable {
        public var node: IndexPair
        public var services: [String: IndexPair]
        public var checks: [String: IndexPair]

        /// A record seen for the first time at `index`.
        init(first record: NodeRecord, at index: UInt64) {
            let pair = IndexPair(create: index, modify: index)
            node = pair
            services = Dictionary(record.services.map { ($0.id, pair) }, uniquingKeysWith: { a, _ in a })
            checks = Dictionary(record.checks.map { ($0.id, pair) }, uniquingKeysWith: { a, _ in a })
        }

        /// The indexes after `old` became `new` at `index`: entries that did
        /// not change keep theirs; new ones are created at `index`.
        func updated(from old: NodeRecord, to new: NodeRecord, at index: UInt64) -> EntryIndexes {
            var next = self
            let nodeChanged = old.id != new.id || old.address != new.address || old.datacenter != new.datacenter
                || old.taggedAddresses != new.taggedAddresses || old.meta != new.meta
            if nodeChanged { next.node.modify = index }
            next.services = Self.carry(services, old: old.services, new: new.services, id: \.id, at: index)
            next.checks = Self.carry(checks, old: old.checks, new: new.checks, id: \.id, at: index)
            return next
        }

        public func service(_ id: String) -> IndexPair { services[id] ?? node }
        public func check(_ id: String) -> IndexPair { checks[id] ?? node }

        private static func carry<Entry: Equatable>(_ pairs: [String: IndexPair], old: [Entry], new: [Entry],
                                                    id: KeyPath<Entry, String>, at index: UInt64) -> [String: IndexPair] {
            let before = Dictionary(old.map { ($0[keyPath: id], $0) }, uniquingKeysWith: { a, _ in a })
            var result: [String: IndexPair] = [:]
            for entry in new {
                let key = entry[keyPath: id]
                guard let pair = pairs[key], let previous = before[key] else {
                    result[key] = IndexPair(create: index, modify: index)
                    continue
                }
                result[key] = previous == entry ? pair : IndexPair(create: pair.create, modify: index)
            }
            return result
        }
    }
}
