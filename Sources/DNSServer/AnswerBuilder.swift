/// Builds the records of one answer for a name inside our domain.
struct AnswerBuilder {
    let settings: DNSResponderSettings
    let snapshot: DNSSnapshot
    /// The domain the question came in under (answers stay in it).
    let domain: DNSName
    let question: DNSQuestion

    private var type: DNSType { question.type }
    private var wantsAddress: Bool { type == .a || type == .aaaa || type == .any || type == .cname }

    func isLocal(_ datacenter: [UInt8]?) -> Bool { datacenter.map { $0 == snapshot.datacenter } ?? true }

    /// Instances of a service, healthy enough to answer, with the tag.
    func instances(name: [UInt8], tag: [UInt8]?) -> [DNSSnapshot.Instance] {
        guard let all = snapshot.services[name] else { return [] }
        if tag == nil && !settings.onlyPassing { return all }
        return all.filter { ($0.passing || !settings.onlyPassing) && (tag.map($0.tags.contains) ?? true) }
    }

    func service(_ instances: [DNSSnapshot.Instance], ttl: UInt32, _ plan: inout DNSResponder.Plan) {
        guard !instances.isEmpty else { return nameError(&plan) }
        if wantsAddress {
            var count = 0
            for instance in instances {
                guard let address = instance.address, let record = addressRecord(question.name, address, ttl: ttl) else { continue }
                if settings.aRecordLimit > 0 && count >= settings.aRecordLimit { break }
                plan.answers.append((record, []))
                count += 1
            }
        } else if type == .srv {
            for instance in instances {
                let (target, extras) = srvTarget(instance, ttl: ttl)
                let srv = DNSRecordData.srv(priority: 1, weight: instance.weight, port: instance.port, target: target)
                plan.answers.append((DNSRecord(name: question.name, ttl: ttl, data: srv), extras))
            }
        } else if type == .txt {
            var seen = Set<Int>()
            for instance in instances where seen.insert(instance.node).inserted {
                let txt = snapshot.nodes[instance.node].txt
                if !txt.isEmpty { plan.answers.append((DNSRecord(name: question.name, ttl: ttl, data: .txt(txt)), [])) }
            }
        }
        if plan.answers.isEmpty { noData(&plan) }
    }

    func node(_ name: [UInt8], _ plan: inout DNSResponder.Plan) {
        guard let index = snapshot.nodeIndex[DNSSnapshot.fold(name[...])] else { return nameError(&plan) }
        let node = snapshot.nodes[index]
        let ttl = settings.nodeTTL
        if wantsAddress, let address = node.address, let record = addressRecord(question.name, address, ttl: ttl) {
            plan.answers.append((record, []))
        }
        if (type == .txt || type == .any) && !node.txt.isEmpty {
            plan.answers.append((DNSRecord(name: question.name, ttl: ttl, data: .txt(node.txt)), []))
        }
        if plan.answers.isEmpty { noData(&plan) }
    }

    func address(_ address: DNSAddress, _ plan: inout DNSResponder.Plan) {
        if wantsAddress, let record = addressRecord(question.name, address, ttl: settings.nodeTTL) {
            plan.answers.append((record, []))
        }
        if plan.answers.isEmpty { noData(&plan) }
    }

    /// The domain itself: its SOA, and its NS records (the datacenter's servers).
    func apex(_ plan: inout DNSResponder.Plan) {
        if type == .soa || type == .any { plan.answers.append((soa(), [])) }
        if type == .ns || type == .any {
            for index in snapshot.servers {
                let node = snapshot.nodes[index]
                guard let target = nodeName(node) else { continue }
                // Glue: the server's address, whatever type was asked.
                let glue = node.address.map { DNSRecord(name: target, ttl: settings.nodeTTL, data: $0.recordData) }
                plan.answers.append((DNSRecord(name: question.name, ttl: settings.nodeTTL, data: .ns(target)), glue.map { [$0] } ?? []))
            }
        }
        if plan.answers.isEmpty { noData(&plan) }
    }

    /// NXDOMAIN, with the SOA for negative caching (RFC 2308).
    func nameError(_ plan: inout DNSResponder.Plan) {
        plan.response.header.rcode = .nxDomain
        plan.response.authority = [soa()]
    }

    /// The name exists but has no record of the type asked: NOERROR with the SOA.
    func noData(_ plan: inout DNSResponder.Plan) {
        plan.response.authority = [soa()]
    }

    func soa() -> DNSRecord {
        let mname = DNSName("ns")?.appending(domain) ?? domain
        let rname = DNSName("hostmaster")?.appending(domain) ?? domain
        let data = DNSSOA(mname: mname, rname: rname, serial: snapshot.serial, refresh: 3600, retry: 600,
                          expire: 86400, minimum: settings.soaMinTTL)
        return DNSRecord(name: domain, ttl: settings.soaMinTTL, data: .soa(data))
    }

    /// The record for an address when the question's type wants it.
    private func addressRecord(_ name: DNSName, _ address: DNSAddress, ttl: UInt32) -> DNSRecord? {
        switch address {
        case .v4 where type == .a || type == .any, .v6 where type == .aaaa || type == .any, .host:
            DNSRecord(name: name, ttl: ttl, data: address.recordData)
        default:
            nil
        }
    }

    /// `node.node.dc.domain` for an instance at its node's address,
    /// `<hex>.addr.dc.domain` for one with its own, a host name as it is;
    /// with the target's address record for the additional section.
    private func srvTarget(_ instance: DNSSnapshot.Instance, ttl: UInt32) -> (DNSName, [DNSRecord]) {
        guard let address = instance.address else {
            return (nodeName(snapshot.nodes[instance.node]) ?? domain, [])
        }
        if case .host(let host) = address { return (host, []) }
        let target: DNSName?
        if instance.hasOwnAddress, let hex = address.hexLabel {
            target = DNSName(labels: [hex, Array("addr".utf8), snapshot.datacenter]).flatMap { $0.appending(domain) }
        } else {
            target = nodeName(snapshot.nodes[instance.node])
        }
        guard let target else { return (domain, []) }
        let extra = DNSRecord(name: target, ttl: ttl, data: address.recordData)
        return (target, [extra])
    }

    private func nodeName(_ node: DNSSnapshot.Node) -> DNSName? {
        DNSName(labels: [node.name, Array("node".utf8), snapshot.datacenter]).flatMap { $0.appending(domain) }
    }
}
