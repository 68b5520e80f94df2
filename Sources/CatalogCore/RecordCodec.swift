import Primitives

extension Catalog {
    /// Binary encoding of node records for gossip and push/pull. Decoding
    /// is total: any bytes give records or an error, and every count is
    /// checked against the bytes that remain before anything is reserved.
    public enum RecordCodec {
        static let recordFormat: UInt8 = 1

        public static func encode(_ r: NodeRecord) -> [UInt8] {
            var w = ByteWriter(capacity: 256 + r.services.count * 96 + r.checks.count * 128)
            w.u8(recordFormat)
            w.string16(r.node); w.string16(r.id); w.string16(r.address); w.string16(r.datacenter)
            map(r.taggedAddresses, &w); map(r.meta, &w)
            w.string16(r.owner); w.u64(r.version)
            w.u16(UInt16(min(r.services.count, Int(UInt16.max))))
            for s in r.services.prefix(Int(UInt16.max)) {
                w.string16(s.id); w.string16(s.name); list(s.tags, &w); w.string16(s.address)
                w.u32(UInt32(truncatingIfNeeded: s.port)); map(s.meta, &w)
                w.u32(UInt32(truncatingIfNeeded: s.weights.passing)); w.u32(UInt32(truncatingIfNeeded: s.weights.warning))
                w.u8(s.enableTagOverride ? 1 : 0); w.string16(s.kind)
            }
            w.u16(UInt16(min(r.checks.count, Int(UInt16.max))))
            for c in r.checks.prefix(Int(UInt16.max)) {
                w.string16(c.id); w.string16(c.name); w.u8(UInt8(c.status.rank)); w.string16(c.notes)
                w.string16(c.output); w.string16(c.serviceID); w.string16(c.serviceName); list(c.serviceTags, &w)
                w.string16(c.type); w.string16(c.interval); w.string16(c.timeout); w.string16(c.ttl); w.string16(c.target)
                w.string16(c.deregisterCriticalAfter)
            }
            return w.bytes
        }

        /// The node, owner and version of an encoded record, read without
        /// decoding the rest: a replica that holds that version already
        /// (most gossip it hears) skips the record. Nil when the bytes do
        /// not start like a record; whether the rest decodes is not checked.
        public static func header(_ bytes: [UInt8], from offset: Int = 0) -> (node: String, owner: String, version: UInt64)? {
            var r = ByteReader(bytes, from: offset)
            do {
                guard try r.u8() == recordFormat else { return nil }
                let node = try r.string16()
                for _ in 0..<3 { try r.skipString16() }  // id, address, datacenter
                for _ in 0..<2 {  // tagged addresses, meta
                    let pairs = Int(try r.u16())
                    for _ in 0..<(2 * pairs) { try r.skipString16() }
                }
                return (node, try r.string16(), try r.u64())
            } catch {
                return nil
            }
        }

        public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> NodeRecord {
            var r = ByteReader(bytes)
            let record = try decode(&r)
            guard r.isAtEnd else { throw .invalid("trailing bytes after node record") }
            return record
        }

        static func decode(_ r: inout ByteReader) throws(DecodeError) -> NodeRecord {
            let format = try r.u8()
            guard format == recordFormat else { throw .invalid("unknown record format \(format)") }
            var record = NodeRecord(node: try r.string16(), id: try r.string16(), address: try r.string16(),
                                    datacenter: try r.string16(), owner: "")
            record.taggedAddresses = try map(&r)
            record.meta = try map(&r)
            record.owner = try r.string16()
            record.version = try r.u64()
            let serviceCount = Int(try r.u16())
            guard serviceCount <= r.remaining / 20 else { throw .invalid("service count exceeds record") }
            for _ in 0..<serviceCount {
                let id = try r.string16(), name = try r.string16(), tags = try list(&r), address = try r.string16()
                let port = Int(try r.u32()), meta = try map(&r)
                let weights = Weights(passing: Int(try r.u32()), warning: Int(try r.u32()))
                let override = try r.u8() != 0
                record.services.append(Service(id: id, name: name, tags: tags, address: address, port: port, meta: meta,
                                               weights: weights, enableTagOverride: override, kind: try r.string16()))
            }
            let checkCount = Int(try r.u16())
            guard checkCount <= r.remaining / 20 else { throw .invalid("check count exceeds record") }
            for _ in 0..<checkCount {
                let id = try r.string16(), name = try r.string16()
                let rank = try r.u8()
                guard let status = HealthStatus.allCases.first(where: { $0.rank == Int(rank) }) else {
                    throw .invalid("bad check status \(rank)")
                }
                let notes = try r.string16(), output = try r.string16(), serviceID = try r.string16()
                let serviceName = try r.string16(), serviceTags = try list(&r)
                record.checks.append(Check(id: id, name: name, status: status, notes: notes, output: output,
                                           serviceID: serviceID, serviceName: serviceName, serviceTags: serviceTags,
                                           type: try r.string16(), interval: try r.string16(), timeout: try r.string16(),
                                           ttl: try r.string16(), target: try r.string16()))
                record.checks[record.checks.count - 1].deregisterCriticalAfter = try r.string16()
            }
            return record
        }

        /// Many records, each length-prefixed so that a reader can skip one it cannot parse.
        public static func encode(_ records: [NodeRecord]) -> [UInt8] {
            var w = ByteWriter()
            w.u32(UInt32(records.count))
            for record in records { w.blob32(encode(record)) }
            return w.bytes
        }

        /// Decodes a record list; undecodable entries are skipped and counted.
        public static func decodeList(_ bytes: [UInt8]) throws(DecodeError) -> (records: [NodeRecord], skipped: Int) {
            var r = ByteReader(bytes)
            let count = Int(try r.u32())
            guard count <= r.remaining / 4 else { throw .invalid("record count exceeds payload") }
            var records: [NodeRecord] = []
            var skipped = 0
            for _ in 0..<count {
                let blob = try r.blob32()
                if let record = try? decode(blob) { records.append(record) } else { skipped += 1 }
            }
            guard r.isAtEnd else { throw .invalid("trailing bytes after record list") }
            return (records, skipped)
        }

        private static func map(_ m: [String: String], _ w: inout ByteWriter) {
            let pairs = m.sorted { $0.key < $1.key }.prefix(Int(UInt16.max))
            w.u16(UInt16(pairs.count))
            for (k, v) in pairs { w.string16(k); w.string16(v) }
        }

        private static func map(_ r: inout ByteReader) throws(DecodeError) -> [String: String] {
            let count = Int(try r.u16())
            guard count <= r.remaining / 4 else { throw .invalid("map size exceeds record") }
            var out: [String: String] = [:]
            for _ in 0..<count { out[try r.string16()] = try r.string16() }
            return out
        }

        static func list(_ l: [String], _ w: inout ByteWriter) {
            w.u16(UInt16(min(l.count, Int(UInt16.max))))
            for s in l.prefix(Int(UInt16.max)) { w.string16(s) }
        }

        static func list(_ r: inout ByteReader) throws(DecodeError) -> [String] {
            let count = Int(try r.u16())
            guard count <= r.remaining / 2 else { throw .invalid("list size exceeds record") }
            var out: [String] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try r.string16()) }
            return out
        }

        /// A 32-bit FNV-1a hash of the record's encoding: the same record
        /// gives the same value on every agent (maps encode sorted).
        public static func fingerprint(_ record: NodeRecord) -> UInt32 {
            var hash: UInt32 = 2_166_136_261
            for byte in encode(record) {
                hash = (hash ^ UInt32(byte)) &* 16_777_619
            }
            return hash
        }
    }
}
