import Primitives

extension Catalog {
    /// What a replica holds of one node, without the record itself: its
    /// owner, version and content fingerprint, or a removal (tombstone)
    /// and its version.
    public struct DigestEntry: Sendable, Equatable {
        public var node: String
        /// Empty for a removal: tombstones keep no owner.
        public var owner: String
        public var version: UInt64
        public var removed: Bool
        /// `RecordCodec.fingerprint` of the record held (0 for a removal).
        /// An owner restarted from a disk that lost its last write can
        /// publish a version its peers already hold with other content;
        /// the version alone would never tell the two apart.
        public var fingerprint: UInt32

        public init(node: String, owner: String, version: UInt64, removed: Bool = false, fingerprint: UInt32 = 0) {
            self.node = node
            self.owner = owner
            self.version = version
            self.removed = removed
            self.fingerprint = fingerprint
        }
    }

    /// The catalog's part of a push/pull exchange. Both sides send a digest
    /// of everything they hold (about 20 bytes a node); the answering side
    /// adds the whole records the asking side lacks, read from its request.
    /// Anti-entropy so costs a digest per exchange, not the catalog.
    public struct PushPullState: Sendable, Equatable {
        public var digest: [DigestEntry]
        public var records: [NodeRecord]
        /// The ACL state (`ACLStore`'s wire form), whole: it is small.
        public var acl: [UInt8] = []
        /// Records of the payload that could not be decoded (skipped).
        public var skipped = 0

        static let format: UInt8 = 4

        public init(digest: [DigestEntry], records: [NodeRecord], acl: [UInt8] = []) {
            self.digest = digest
            self.records = records
            self.acl = acl
        }

        public func encode() -> [UInt8] {
            var w = ByteWriter()
            w.u8(Self.format)
            w.u32(UInt32(digest.count))
            for entry in digest {
                w.string16(entry.node)
                w.string16(entry.owner)
                w.u64(entry.version)
                w.u8(entry.removed ? 1 : 0)
                w.u32(entry.fingerprint)
            }
            w.blob32(acl)
            w.bytes.append(contentsOf: RecordCodec.encode(records))
            return w.bytes
        }

        public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> PushPullState {
            var r = ByteReader(bytes)
            guard try r.u8() == format else { throw .invalid("unknown catalog push/pull format") }
            let count = Int(try r.u32())
            // An entry takes at least 17 bytes: a bound before allocating.
            guard count <= r.remaining / 17 else { throw .invalid("digest count exceeds payload") }
            var digest: [DigestEntry] = []
            digest.reserveCapacity(count)
            for _ in 0..<count {
                let node = try r.string16(), owner = try r.string16(), version = try r.u64()
                let flags = try r.u8(), fingerprint = try r.u32()
                guard flags <= 1 else { throw .invalid("unknown digest flags \(flags)") }
                digest.append(DigestEntry(node: node, owner: owner, version: version, removed: flags == 1,
                                          fingerprint: fingerprint))
            }
            let acl = try r.blob32()
            let (records, skipped) = try RecordCodec.decodeList(Array(bytes[r.offset...]))
            var state = PushPullState(digest: digest, records: records, acl: acl)
            state.skipped = skipped
            return state
        }

        /// The records of `replica` that the side which sent `digest` lacks:
        /// nodes it does not know, or knows at an older (version, owner).
        public static func records(of replica: Replica, lackedBy digest: [DigestEntry]) -> [NodeRecord] {
            var theirs: [String: DigestEntry] = [:]
            for entry in digest { theirs[entry.node] = entry }
            return replica.records.values.filter { record in
                guard let known = theirs[record.node] else { return true }
                if known.removed { return record.version > known.version }
                return Replica.supersedes(record.version, record.owner, known.version, known.owner)
            }
        }
    }
}

extension Catalog.Replica {
    /// Every record's (node, owner, version) and every live tombstone.
    public func digest() -> [Catalog.DigestEntry] {
        records.values.map {
            Catalog.DigestEntry(node: $0.node, owner: $0.owner, version: $0.version, fingerprint: fingerprint($0.node))
        }
            + tombstoneVersions.map { Catalog.DigestEntry(node: $0.key, owner: "", version: $0.value, removed: true) }
    }

    /// True when a record described by `entry` would replace what this
    /// replica holds (the same rule as `apply`).
    public func lacks(_ entry: Catalog.DigestEntry) -> Bool {
        !entry.removed && wouldTake(node: entry.node, owner: entry.owner, version: entry.version)
    }
}
