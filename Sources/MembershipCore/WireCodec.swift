import Primitives

extension SWIM {
    /// Our own versioned binary encoding. A packet is `version, kind, body`;
    /// a compound packet carries up to 255 length-prefixed messages.
    enum WireCodec {
        /// Encodes one message without the version byte (`kind, body`), the
        /// unit that is queued for piggybacking.
        static func encode(_ message: Message) -> [UInt8] {
            var w = ByteWriter()
            switch message {
            case .ping(let p):
                w.u8(Kind.ping.rawValue); w.u32(p.sequence); w.shortString(p.target); w.shortString(p.source)
                w.u32(p.targetIncarnation); w.u8(p.suspectsTarget ? 1 : 0); w.u32(p.senderLiveMembers)
            case .indirectPing(let p):
                w.u8(Kind.indirectPing.rawValue); w.u32(p.sequence); w.shortString(p.target)
                w.endpoint(p.targetAddress); w.u8(p.wantsNack ? 1 : 0); w.shortString(p.source)
            case .ack(let seq, let live):
                w.u8(Kind.ack.rawValue); w.u32(seq); w.u32(live)
            case .nack(let seq):
                w.u8(Kind.nack.rawValue); w.u32(seq)
            case .alive(let a):
                w.u8(Kind.alive.rawValue); w.u32(a.incarnation); w.shortString(a.name)
                w.endpoint(a.address); w.blob16(a.meta)
            case .suspect(let s):
                w.u8(Kind.suspect.rawValue); w.u32(s.incarnation); w.shortString(s.name); w.shortString(s.from)
            case .dead(let d):
                w.u8(Kind.dead.rawValue); w.u32(d.incarnation); w.shortString(d.name); w.shortString(d.from)
            case .user(let bytes):
                w.u8(Kind.user.rawValue); w.blob16(bytes)
            case .coordinateRequest:
                w.u8(Kind.coordinateRequest.rawValue)
            case .coordinate(let c):
                // Float32 is plenty (seconds, to well under a microsecond)
                // and keeps the message at 46 bytes with 8 dimensions.
                w.u8(Kind.coordinate.rawValue); w.u8(UInt8(min(c.vector.count, 255)))
                for x in c.vector.prefix(255) { w.u32(Float(x).bitPattern) }
                for x in [c.error, c.adjustment, c.height] { w.u32(Float(x).bitPattern) }
            }
            return w.bytes
        }

        /// A packet of one message, or a compound of several encoded ones.
        static func packet(_ encoded: [[UInt8]]) -> [UInt8] {
            var out: [UInt8] = [wireVersion]
            if encoded.count == 1 {
                out.append(contentsOf: encoded[0])
                return out
            }
            out.append(Kind.compound.rawValue)
            out.append(UInt8(min(encoded.count, 255)))
            for part in encoded.prefix(255) {
                out.append(UInt8(part.count >> 8)); out.append(UInt8(part.count & 0xff))
                out.append(contentsOf: part)
            }
            return out
        }

        /// Bytes a compound packet spends on `parts` messages besides their bodies.
        static func compoundOverhead(parts: Int) -> Int { 3 + 2 * parts }

        /// Decodes a datagram into its messages. Unknown kinds inside a
        /// compound are skipped (newer peers), malformed ones abort it.
        static func decodePacket(_ bytes: [UInt8]) throws(DecodeError) -> [Message] {
            var r = ByteReader(bytes)
            let version = try r.u8()
            guard version == wireVersion else { throw .invalid("unsupported wire version \(version)") }
            guard bytes.count > 1, bytes[1] == Kind.compound.rawValue else {
                return [try decodeMessage(bytes, from: 1, to: bytes.count)]
            }
            _ = try r.u8()
            let count = Int(try r.u8())
            var messages: [Message] = []
            messages.reserveCapacity(count)
            for _ in 0..<count {
                let length = Int(try r.u16())
                guard length <= r.remaining else { throw .truncated }
                let start = r.offset
                _ = try r.take(length)
                if length > 0, Kind(rawValue: bytes[start]) == nil { continue }
                messages.append(try decodeMessage(bytes, from: start, to: start + length))
            }
            return messages
        }

        static func decodeMessage(_ bytes: [UInt8], from: Int, to: Int) throws(DecodeError) -> Message {
            var r = ByteReader(bytes, from: from, to: to)
            let raw = try r.u8()
            guard let kind = Kind(rawValue: raw) else { throw .invalid("unknown message kind \(raw)") }
            let message: Message
            switch kind {
            case .ping:
                message = .ping(Ping(sequence: try r.u32(), target: try r.shortString(), source: try r.shortString(),
                                     targetIncarnation: try r.u32(), suspectsTarget: try r.u8() != 0,
                                     senderLiveMembers: try r.u32()))
            case .indirectPing:
                message = .indirectPing(IndirectPing(sequence: try r.u32(), target: try r.shortString(),
                                                     targetAddress: try r.endpoint(), wantsNack: try r.u8() != 0,
                                                     source: try r.shortString()))
            case .ack:
                message = .ack(sequence: try r.u32(), liveMembers: try r.u32())
            case .nack:
                message = .nack(sequence: try r.u32())
            case .alive:
                message = .alive(Alive(incarnation: try r.u32(), name: try r.shortString(),
                                       address: try r.endpoint(), meta: try r.blob16()))
            case .suspect:
                message = .suspect(Accusation(incarnation: try r.u32(), name: try r.shortString(), from: try r.shortString()))
            case .dead:
                message = .dead(Accusation(incarnation: try r.u32(), name: try r.shortString(), from: try r.shortString()))
            case .user:
                message = .user(try r.blob16())
            case .coordinateRequest:
                message = .coordinateRequest
            case .coordinate:
                // Any bits decode (NaN and infinities too): whether a
                // coordinate is usable is the instance's call.
                func f() throws(DecodeError) -> Double { Double(Float(bitPattern: try r.u32())) }
                let count = Int(try r.u8())
                var vector: [Double] = []
                vector.reserveCapacity(count)
                for _ in 0..<count { vector.append(try f()) }
                message = .coordinate(Vivaldi.Coordinate(vector: vector, error: try f(), adjustment: try f(), height: try f()))
            case .compound, .pushPull:
                throw .invalid("\(kind) is not allowed here")
            }
            guard r.isAtEnd else { throw .invalid("trailing bytes after \(kind)") }
            return message
        }

        // MARK: push/pull (TCP; the caller frames it with a 4-byte length)

        static func encode(_ state: PushPull) -> [UInt8] {
            var w = ByteWriter(capacity: 64 + state.nodes.count * 48 + state.userState.count)
            w.u8(wireVersion); w.u8(Kind.pushPull.rawValue); w.u8(state.join ? 1 : 0)
            w.u32(UInt32(state.nodes.count))
            for node in state.nodes {
                w.shortString(node.name); w.endpoint(node.address); w.blob16(node.meta)
                w.u32(node.incarnation); w.u8(node.status.rawValue)
            }
            w.u32(UInt32(state.userState.count))
            w.bytes.append(contentsOf: state.userState)
            return w.bytes
        }

        static func decodePushPull(_ bytes: [UInt8]) throws(DecodeError) -> PushPull {
            var r = ByteReader(bytes)
            guard try r.u8() == wireVersion else { throw .invalid("unsupported wire version") }
            guard try r.u8() == Kind.pushPull.rawValue else { throw .invalid("not a push/pull frame") }
            let join = try r.u8() != 0
            let count = Int(try r.u32())
            // Each row takes at least 13 bytes: a lie about the count cannot
            // make us reserve more than the frame could hold.
            guard count <= r.remaining / 13 else { throw .invalid("node count \(count) exceeds frame") }
            var nodes: [NodeState] = []
            nodes.reserveCapacity(count)
            for _ in 0..<count {
                let name = try r.shortString(), address = try r.endpoint(), meta = try r.blob16()
                let incarnation = try r.u32()
                guard let status = Status(rawValue: try r.u8()) else { throw .invalid("bad member status") }
                nodes.append(NodeState(name: name, address: address, meta: meta, incarnation: incarnation, status: status))
            }
            let userLength = Int(try r.u32())
            let user = try r.take(userLength)
            guard r.isAtEnd else { throw .invalid("trailing bytes after push/pull") }
            return PushPull(join: join, nodes: nodes, userState: user)
        }
    }
}
