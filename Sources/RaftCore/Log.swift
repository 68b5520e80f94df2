extension Raft {
    /// The in-memory log: the entries after the last snapshot. The shell
    /// keeps the durable copy in step through the core's outputs.
    public struct Log: Sendable, Equatable {
        /// The last index and term the snapshot covers (0 without one).
        public private(set) var snapshotIndex: UInt64 = 0
        public private(set) var snapshotTerm: UInt64 = 0
        /// The voters as of the snapshot.
        public private(set) var snapshotVoters: [ServerID] = []
        public private(set) var entries: [Entry] = []
        /// The configuration entries among `entries` (index, voters), kept
        /// beside them so the voters in effect are not a scan of the log.
        private var configurations: [(index: UInt64, voters: [ServerID])] = []

        public init() {}

        public static func == (a: Log, b: Log) -> Bool {
            a.snapshotIndex == b.snapshotIndex && a.snapshotTerm == b.snapshotTerm
                && a.snapshotVoters == b.snapshotVoters && a.entries == b.entries
        }

        public init(snapshot: Snapshot?, entries: [Entry]) {
            if let snapshot {
                snapshotIndex = snapshot.index
                snapshotTerm = snapshot.term
                snapshotVoters = snapshot.voters
            }
            // Entries the snapshot covers, or out of sequence, are not kept.
            var next = snapshotIndex + 1
            for entry in entries where entry.index >= next {
                guard entry.index == next else { break }
                append(entry)
                next += 1
            }
        }

        public var lastIndex: UInt64 { entries.last?.index ?? snapshotIndex }
        public var lastTerm: UInt64 { entries.last?.term ?? snapshotTerm }

        /// The term of the entry at `index`: nil when it is not held (past
        /// the end, or compacted away before the snapshot).
        public func term(at index: UInt64) -> UInt64? {
            if index == snapshotIndex { return snapshotTerm }
            guard index > snapshotIndex, index <= lastIndex else { return nil }
            return entries[Int(index - snapshotIndex - 1)].term
        }

        public func entry(at index: UInt64) -> Entry? {
            guard index > snapshotIndex, index <= lastIndex else { return nil }
            return entries[Int(index - snapshotIndex - 1)]
        }

        /// Entries from `from` on (at most `limit`); empty when `from` is
        /// compacted away or past the end.
        public func entries(from: UInt64, limit: Int) -> [Entry] {
            guard from > snapshotIndex, from <= lastIndex else { return [] }
            let start = Int(from - snapshotIndex - 1)
            return Array(entries[start..<min(entries.count, start + limit)])
        }

        mutating func append(_ entry: Entry) {
            precondition(entry.index == lastIndex + 1, "log entries are appended in sequence")
            entries.append(entry)
            if case .configuration(let voters) = entry.kind { configurations.append((entry.index, voters)) }
        }

        /// Drops every entry above `index`.
        mutating func truncate(after index: UInt64) {
            guard index < lastIndex else { return }
            entries.removeLast(Int(lastIndex - max(index, snapshotIndex)))
            configurations.removeAll { $0.index > index }
        }

        /// Forgets the entries up to `index`, now covered by a snapshot.
        mutating func compact(through index: UInt64, voters: [ServerID]) {
            guard index > snapshotIndex, let term = term(at: index) else { return }
            entries.removeFirst(Int(index - snapshotIndex))
            snapshotIndex = index
            snapshotTerm = term
            snapshotVoters = voters
            configurations.removeAll { $0.index <= index }
        }

        /// Replaces everything with a snapshot from the leader, keeping
        /// entries after it that agree with it (the paper's §7).
        mutating func install(_ snapshot: Snapshot) {
            if term(at: snapshot.index) == snapshot.term {
                entries.removeFirst(Int(snapshot.index - snapshotIndex))
            } else {
                entries = []
            }
            snapshotIndex = snapshot.index
            snapshotTerm = snapshot.term
            snapshotVoters = snapshot.voters
            configurations.removeAll { $0.index <= snapshot.index }
            if entries.isEmpty { configurations = [] }
        }

        /// The voters in effect: those of the last configuration entry,
        /// committed or not (the dissertation's §4.1), else the snapshot's.
        public var voters: [ServerID] { configurations.last?.voters ?? snapshotVoters }

        /// The index of the last configuration entry (the snapshot's when none is held).
        public var configurationIndex: UInt64 { configurations.last?.index ?? snapshotIndex }
    }
}
