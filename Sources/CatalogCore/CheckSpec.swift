import Primitives

extension Catalog {
    /// How the owning agent runs one of its checks, beyond what the catalog
    /// shows: request details of an HTTP check, a script's arguments, an
    /// alias's target and the thresholds of consecutive results. Local to
    /// the owner: persisted with its record, never gossiped.
    public struct CheckSpec: Sendable, Equatable {
        public var method = "GET"
        /// Extra request headers (Consul's `Header`: a name to its values).
        public var headers: [String: [String]] = [:]
        public var body = ""
        public var tlsSkipVerify = false
        public var tlsServerName = ""
        /// A script check's program and arguments (`Args`).
        public var args: [String] = []
        public var aliasService = ""
        public var aliasNode = ""
        /// Consul's status thresholds: a check turns passing after this many
        /// consecutive passes, warning/critical after this many failures.
        public var successBeforePassing = 0
        public var failuresBeforeWarning = 0
        public var failuresBeforeCritical = 0

        public init() {}

        package static let maxBody = 16 * 1024
        package static let maxHeaders = 64
        package static let maxArgs = 256
    }

    /// The consecutive results of one check, turned into the status to
    /// show by `CheckSpec`'s thresholds (Consul's StatusHandler).
    package struct StatusThresholds {
        var successes = 0
        var failures = 0

        package init() {}

        /// The status to record for a probe's `result`, or nil to keep the
        /// check as it is (not enough consecutive results yet).
        package mutating func admit(_ result: HealthStatus, spec: CheckSpec) -> HealthStatus? {
            if result == .passing {
                successes += 1
                failures = 0
                return successes >= spec.successBeforePassing ? .passing : nil
            }
            failures += 1
            successes = 0
            let beforeWarning = spec.failuresBeforeWarning == 0 ? spec.failuresBeforeCritical : spec.failuresBeforeWarning
            if failures >= spec.failuresBeforeCritical { return result }
            if failures >= beforeWarning { return .warning }
            return nil
        }
    }
}

extension Catalog.RecordCodec {
    static let localFormat: UInt8 = 0x80

    /// The local record as this agent persists it: the record, then the
    /// specs of its checks (a section gossip never carries).
    package static func encodeLocal(_ r: Catalog.NodeRecord, specs: [String: Catalog.CheckSpec]) -> [UInt8] {
        var w = ByteWriter(capacity: 512)
        w.u8(localFormat)
        w.blob32(encode(r))
        let kept = specs.filter { id, _ in r.check(id) != nil }.sorted { $0.key < $1.key }.prefix(Int(UInt16.max))
        w.u16(UInt16(kept.count))
        for (id, s) in kept {
            w.string16(id); w.string16(s.method); w.string16(s.body); w.u8(s.tlsSkipVerify ? 1 : 0)
            w.string16(s.tlsServerName); w.string16(s.aliasService); w.string16(s.aliasNode)
            w.u32(UInt32(clamping: s.successBeforePassing)); w.u32(UInt32(clamping: s.failuresBeforeWarning))
            w.u32(UInt32(clamping: s.failuresBeforeCritical))
            list(s.args, &w)
            let headers = s.headers.sorted { $0.key < $1.key }.prefix(Int(UInt16.max))
            w.u16(UInt16(headers.count))
            for (name, values) in headers { w.string16(name); list(values, &w) }
        }
        return w.bytes
    }

    /// Reads what `encodeLocal` wrote; a file from before check specs
    /// existed (a bare record) has none.
    package static func decodeLocal(_ bytes: [UInt8]) throws(DecodeError) -> (Catalog.NodeRecord, [String: Catalog.CheckSpec]) {
        if bytes.first == recordFormat { return (try decode(bytes), [:]) }
        var r = ByteReader(bytes)
        guard try r.u8() == localFormat else { throw .invalid("unknown local record format") }
        let record = try decode(try r.blob32())
        var specs: [String: Catalog.CheckSpec] = [:]
        let count = Int(try r.u16())
        guard count <= r.remaining / 24 else { throw .invalid("check spec count exceeds file") }
        for _ in 0..<count {
            let id = try r.string16()
            var s = Catalog.CheckSpec()
            s.method = try r.string16(); s.body = try r.string16(); s.tlsSkipVerify = try r.u8() != 0
            s.tlsServerName = try r.string16(); s.aliasService = try r.string16(); s.aliasNode = try r.string16()
            s.successBeforePassing = Int(try r.u32()); s.failuresBeforeWarning = Int(try r.u32())
            s.failuresBeforeCritical = Int(try r.u32())
            s.args = try list(&r)
            let headerCount = Int(try r.u16())
            guard headerCount <= r.remaining / 4 else { throw .invalid("header count exceeds file") }
            for _ in 0..<headerCount { s.headers[try r.string16()] = try list(&r) }
            specs[id] = s
        }
        guard r.isAtEnd else { throw .invalid("trailing bytes after check specs") }
        return (record, specs)
    }
}
