import Sockets

/// Running the local checks: TTL expiry, probes on their intervals,
/// aliases recomputed on every catalog change, the thresholds of
/// consecutive results and `DeregisterCriticalServiceAfter`.
extension CatalogSync {
    /// Takes a parsed check's spec into `specs` and returns the check as
    /// the record carries it (without one).
    func adopt(_ check: Catalog.Check) -> Catalog.Check {
        var bare = check
        if check.spec == Catalog.CheckSpec() { specs[check.id] = nil } else { specs[check.id] = check.spec }
        thresholds[check.id] = nil
        bare.spec = Catalog.CheckSpec()
        return bare
    }

    /// Stops everything a check had running.
    func forget(_ id: String) {
        if let t = checkTimers.removeValue(forKey: id) { loop.cancel(t) }
        if let t = reapTimers.removeValue(forKey: id) { loop.cancel(t) }
        specs[id] = nil
        thresholds[id] = nil
    }

    /// A TTL check's heartbeat (`/v1/agent/check/pass|warn|fail|update`).
    /// False if there is no TTL check with that ID. Every call restarts
    /// the TTL.
    public func updateTTL(_ id: String, status: Catalog.HealthStatus, output: String) -> Bool {
        guard let check = local.check(id), check.type == "ttl" else { return false }
        arm(check)
        setResult(id, status, output)
        return true
    }

    /// Records a check's result; only a change of status or output is published.
    func setResult(_ id: String, _ status: Catalog.HealthStatus, _ output: String) {
        guard let i = local.checks.firstIndex(where: { $0.id == id }) else { return }
        let bounded = String(decoding: output.utf8.prefix(Catalog.maxOutputBytes), as: UTF8.self)
        guard local.checks[i].status != status || local.checks[i].output != bounded else { return }
        var check = local.checks[i]
        check.status = status
        check.output = bounded
        watchCritical(check)
        step { core, time, out in core.updateLocal(at: time, into: &out) { $0.checks[i] = check } }
    }

    /// A probe's result through the check's thresholds: a status that has
    /// not been seen enough times in a row yet leaves the check as it is.
    func admit(_ id: String, _ result: Catalog.HealthStatus, _ output: String) {
        let spec = specs[id] ?? Catalog.CheckSpec()
        var counts = thresholds[id] ?? Catalog.StatusThresholds()
        let shown = counts.admit(result, spec: spec)
        thresholds[id] = counts
        guard let shown else {
            return Log.debug("agent", "check \"\(id)\" is \(result.rawValue), not yet enough times in a row to show")
        }
        setResult(id, shown, output)
    }

    /// Starts (or stops) the countdown of `DeregisterCriticalServiceAfter`:
    /// a service whose check stays critical that long is deregistered.
    func watchCritical(_ check: Catalog.Check) {
        let id = check.id
        if let t = reapTimers.removeValue(forKey: id) { loop.cancel(t) }
        guard check.status == .critical, !check.serviceID.isEmpty,
              let after = GoDuration.parse(check.deregisterCriticalAfter) else { return }
        let serviceID = check.serviceID
        reapTimers[id] = loop.schedule(after: max(after, minimumDeregisterCriticalAfter)) { [weak self] in
            guard let self else { return }
            reapTimers[id] = nil
            guard local.check(id)?.status == .critical else { return }
            Log.warn("agent", "check \"\(id)\" critical for \(check.deregisterCriticalAfter): deregistering service \"\(serviceID)\"")
            _ = deregister(serviceID: serviceID)
        }
    }

    /// (Re)starts a check's timer: a TTL's expiry, or the next run of a
    /// probe. Aliases have no timer: they follow catalog changes.
    func arm(_ check: Catalog.Check, after delay: Duration? = nil) {
        if let t = checkTimers.removeValue(forKey: check.id) { loop.cancel(t) }
        let id = check.id
        switch check.type {
        case "ttl":
            guard let ttl = GoDuration.parse(check.ttl) else { return }
            checkTimers[id] = loop.schedule(after: ttl) { [weak self] in
                self?.checkTimers[id] = nil
                self?.setResult(id, .critical, "TTL expired")
            }
        case "http", "tcp", "udp", "script":
            guard let interval = GoDuration.parse(check.interval) else { return }
            // The first run comes soon after registration, then every interval.
            checkTimers[id] = loop.schedule(after: delay ?? .milliseconds(Int64.random(in: 0...500, using: &random))) { [weak self] in
                self?.runProbe(id, interval: interval)
            }
        case "alias":
            refreshAliases()
        default:
            return
        }
    }

    private func runProbe(_ id: String, interval: Duration) {
        checkTimers[id] = nil
        guard let check = local.check(id) else { return }
        let timeout = GoDuration.parse(check.timeout) ?? .seconds(10)
        let spec = specs[id] ?? Catalog.CheckSpec()
        let done: CheckProbe.Completion = { [weak self] status, output in
            guard let self, let current = self.local.check(id), current.target == check.target,
                  current.type == check.type else { return }
            self.admit(id, status, output)
            self.arm(current, after: interval)
        }
        switch check.type {
        case "http": CheckProbe.http(check.target, spec: spec, timeout: timeout, loop: loop, tls: checkTLS, completion: done)
        case "udp": CheckProbe.udp(check.target, timeout: timeout, loop: loop, completion: done)
        case "script": CheckProbe.script(spec.args, timeout: timeout, timeoutText: check.timeout, loop: loop, completion: done)
        default: CheckProbe.tcp(check.target, timeout: timeout, loop: loop, completion: done)
        }
    }

    // MARK: - Alias checks

    /// Sets every alias check to the health of what it aliases; called on
    /// each catalog change (a change of status republishes, and the
    /// republished record changes nothing further).
    func refreshAliases() {
        for check in local.checks where check.type == "alias" {
            guard let spec = specs[check.id] else { continue }
            let (status, output) = aliasHealth(spec, excluding: check.id)
            if check.status != status || check.output != output { setResult(check.id, status, output) }
        }
    }

    /// Consul's alias semantics: the worst status of the aliased node's
    /// node-level checks and, with a service, that instance's checks; a
    /// node whose agent is not a live member is critical.
    /// The alias itself never counts (as a node check it would otherwise
    /// hold its own critical state forever).
    func aliasHealth(_ spec: Catalog.CheckSpec, excluding own: String) -> (Catalog.HealthStatus, String) {
        let nodeName = spec.aliasNode.isEmpty ? local.node : spec.aliasNode
        guard let record = nodeName == local.node ? local : replica.record(nodeName) else {
            return (.critical, "Node \"\(nodeName)\" not found")
        }
        if record.owner == record.node, record.node != local.node,
           !(pool.instance.member(named: record.node)?.status.isLive ?? false) {
            return (.critical, "Agent of node \"\(nodeName)\" is not live")
        }
        var checks = record.checks.filter { $0.serviceID.isEmpty && !(record.node == local.node && $0.id == own) }
        if !spec.aliasService.isEmpty {
            guard record.service(spec.aliasService) != nil else {
                return (.critical, "Service \"\(spec.aliasService)\" could not be found on node \"\(nodeName)\"")
            }
            checks += record.checks.filter { $0.serviceID == spec.aliasService }
        }
        let worst = checks.map(\.status).max() ?? .passing
        switch worst {
        case .passing: return (.passing, checks.isEmpty ? "No checks found." : "All checks passing.")
        case .warning: return (.warning, "At least one check is warning.")
        case .critical: return (.critical, "At least one check is critical.")
        }
    }
}
