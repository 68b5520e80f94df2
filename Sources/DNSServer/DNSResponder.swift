import Sockets

/// How a query reached us: UDP answers are cut to what the client can take.
public enum DNSTransport: Sendable { case udp, tcp }

/// What to do with one incoming packet.
public enum DNSOutcome: Sendable, Equatable {
    case reply([UInt8])
    /// A name outside our domains with recursors configured: the shell
    /// forwards the query and relays the answer.
    case forward(DNSMessage)
    /// A name in another datacenter: the shell sends the query there
    /// (through the servers) and relays its answer.
    case forwardToDatacenter(String)
    /// Not worth an answer (too short to carry an ID, or itself a response).
    case drop
}

/// Answers Consul's DNS names from a `DNSSnapshot`. Pure but for its
/// random generator (answers are shuffled per query); one per thread.
public struct DNSResponder: Sendable {
    public let settings: DNSResponderSettings
    var random: SeededRandom
    var cache = DNSAnswerCache()

    public init(settings: DNSResponderSettings, seed: UInt64) {
        self.settings = settings
        random = SeededRandom(seed: seed)
    }

    /// Decodes, answers and encodes one packet.
    public mutating func respond(to packet: [UInt8], snapshot: DNSSnapshot, transport: DNSTransport) -> DNSOutcome {
        let query: DNSMessage
        do {
            query = try DNSMessage.decode(packet)
        } catch {
            return Self.formatError(error.header)
        }
        if query.header.isResponse { return .drop }
        let limit = sizeLimit(query, transport)
        let key = cache.key(for: query, limit: limit, settings: settings)
        if let key {
            cache.use(snapshot)
            if let bytes = cache.answer(key, to: query, random: &random) { return .reply(bytes) }
        }
        guard let plan = answer(query, snapshot: snapshot) else { return .forward(query) }
        if let dc = plan.datacenter { return .forwardToDatacenter(dc) }
        let (bytes, cut) = encode(plan, limit: limit)
        if let key, !cut { cache.store(key, bytes, question: query.questions[0]) }
        return .reply(bytes)
    }

    /// The answer when another datacenter could not answer `packet`:
    /// NXDOMAIN with the SOA when no path to it exists, else SERVFAIL.
    public func datacenterFailure(_ packet: [UInt8], noPath: Bool, transport: DNSTransport) -> [UInt8]? {
        guard let query = try? DNSMessage.decode(packet), let question = query.questions.first,
              let domain = settings.domains.first(where: question.name.hasSuffix) else { return nil }
        var plan = Plan(response: DNSMessage(header: DNSHeader(id: query.header.id), questions: query.questions))
        plan.response.header.isResponse = true
        plan.response.header.recursionDesired = query.header.recursionDesired
        plan.response.header.recursionAvailable = settings.recursionAvailable
        if query.edns != nil { plan.response.edns = EDNS(udpPayloadSize: UInt16(settings.maxUDPSize)) }
        if noPath {
            plan.response.header.authoritative = true
            AnswerBuilder(settings: settings, snapshot: .empty, domain: domain, question: question).nameError(&plan)
        } else {
            plan.response.header.rcode = .servFail
        }
        return encode(plan, limit: sizeLimit(query, transport)).bytes
    }

    /// FORMERR for a malformed query whose header we can still read;
    /// nothing for a packet without one, or for a response.
    static func formatError(_ query: DNSHeader?) -> DNSOutcome {
        guard let query, !query.isResponse else { return .drop }
        var header = DNSHeader(id: query.id)
        header.isResponse = true
        header.opcode = query.opcode
        header.recursionDesired = query.recursionDesired
        header.rcode = .formErr
        return .reply(DNSMessage(header: header).encode().bytes)
    }

    /// An answer before encoding: each answer keeps the additional records
    /// it brought (SRV targets' addresses), so trimming drops them together.
    struct Plan {
        var response: DNSMessage
        var answers: [(record: DNSRecord, extras: [DNSRecord])] = []
        /// Set when another datacenter must answer.
        var datacenter: String?
    }

    /// The answer to a decoded query; nil when it should be forwarded.
    mutating func answer(_ query: DNSMessage, snapshot: DNSSnapshot) -> Plan? {
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.opcode = query.header.opcode
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = settings.recursionAvailable
        header.checkingDisabled = query.header.checkingDisabled
        var plan = Plan(response: DNSMessage(header: header, questions: query.questions))
        if query.edns != nil { plan.response.edns = EDNS(udpPayloadSize: UInt16(settings.maxUDPSize)) }

        if let edns = query.edns, edns.version > 0 { return plan.failing(.badVers) }
        guard query.header.opcode == 0 else { return plan.failing(.notImp) }
        guard query.questions.count == 1, let question = query.questions.first else { return plan.failing(.formErr) }
        guard question.qclass == .internet || question.qclass == .any else { return plan.failing(.refused) }
        guard let (domain, labels) = settings.domains.lazy.compactMap({ d in question.name.labels(before: d).map { (d, $0) } }).first else {
            return settings.recursionAvailable ? nil : plan.failing(.refused)
        }
        plan.response.header.authoritative = true
        let builder = AnswerBuilder(settings: settings, snapshot: snapshot, domain: domain, question: question)
        switch ConsulQuery.parse(labels) {
        case .apex: builder.apex(&plan)
        case .service(let name, let tag, let dc) where builder.isLocal(dc):
            var instances = builder.instances(name: name, tag: tag)
            instances.shuffle(using: &random)
            builder.service(instances, ttl: settings.ttl(forService: name), &plan)
        case .node(let name, let dc) where builder.isLocal(dc): builder.node(name, &plan)
        case .address(let address, let dc) where builder.isLocal(dc): builder.address(address, &plan)
        case .service(_, _, let dc?), .node(_, let dc?), .address(_, let dc?):
            guard settings.federated else { builder.nameError(&plan); break }
            plan.datacenter = String(decoding: dc, as: UTF8.self)
        case .service, .node, .address, .unknown:
            builder.nameError(&plan)
        }
        return plan
    }

    /// The largest answer `query` may get over `transport`: 512 bytes over
    /// UDP, or the EDNS0 size it offers (capped); 65,535 over TCP.
    func sizeLimit(_ query: DNSMessage, _ transport: DNSTransport) -> Int {
        guard transport == .udp else { return 65535 }
        guard let offered = query.edns?.udpPayloadSize else { return 512 }
        return min(max(512, Int(offered)), settings.maxUDPSize)
    }

    /// Encodes a plan within `limit`. When answers must go, they go from
    /// the end together with the additional records they brought (so every
    /// SRV answer kept has its target's address, as Consul trims), and the
    /// answer is flagged TC (`enable_truncate`). Without EDNS0, UDP answers
    /// also keep at most `udp_answer_limit` records. `cut` says whether
    /// anything was left out.
    func encode(_ plan: Plan, limit: Int) -> (bytes: [UInt8], cut: Bool) {
        var answers = plan.answers[...]
        var cut = false
        let countLimit = min(settings.udpAnswerLimit, DNSResponderSettings.udpAnswerCeiling)
        if limit == 512, countLimit > 0, answers.count > countLimit {
            answers = answers.prefix(countLimit)
            cut = true
        }
        func attempt(_ kept: ArraySlice<(record: DNSRecord, extras: [DNSRecord])>) -> (bytes: [UInt8], fits: Bool) {
            var message = plan.response
            message.answers += kept.map(\.record)
            let extras = kept.flatMap(\.extras)
            message.additional += extras
            let (bytes, truncated) = message.encode(limit: limit)
            let written = Int(bytes[10]) << 8 | Int(bytes[11])
            let wanted = message.additional.count + (message.edns == nil ? 0 : 1)
            return (bytes, !truncated && written == wanted)
        }
        var result = attempt(answers)
        if !result.fits && !answers.isEmpty {
            // The most answers that fit with all their extras (binary search).
            var low = 0, high = answers.count - 1
            var best = attempt(answers.prefix(0))
            while low < high {
                let mid = (low + high + 1) / 2
                let trial = attempt(answers.prefix(mid))
                if trial.fits {
                    best = trial
                    low = mid
                } else {
                    high = mid - 1
                }
            }
            result = best
            cut = true
        }
        guard cut && settings.enableTruncate else { return (result.bytes, cut) }
        var flagged = result.bytes
        flagged[2] |= 0x02  // TC
        return (flagged, cut)
    }
}

extension DNSResponder.Plan {
    func failing(_ rcode: DNSRcode) -> DNSResponder.Plan {
        var plan = self
        plan.response.header.rcode = rcode
        return plan
    }
}
