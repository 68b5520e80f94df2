import Sockets

/// `fedagent reload`, `PUT /v1/agent/reload`, SIGHUP: the configuration
/// files are read again and what can change at run time changes.
extension Agent {
    public struct ReloadReport: Sendable {
        /// What changed ("log level info -> debug", "services from files: +web -api").
        public var applied: [String] = []
        /// Settings that differ but only take effect after a restart.
        public var needsRestart: [String] = []
    }

    /// Applies `new` (read off the loop by the caller): the services and
    /// checks of configuration files (those no longer defined are removed,
    /// new and changed ones registered), the log level and the script-check
    /// switches, and (through `onReloadDNS`) `dns_config` and recursors.
    /// Everything else that differs is reported as needing a restart,
    /// never silently ignored.
    public func reload(_ new: AgentConfig, tls reloaded: TLSMaterial? = nil) -> ReloadReport {
        var report = ReloadReport()
        // Certificates, keys and the CA are read again (rotated files keep
        // their paths); only turning TLS on or off somewhere needs a restart.
        var tlsShapeChanged = config.tls != new.tls
        if let reloaded {
            let before = tls.pems
            tlsShapeChanged = !tls.adopt(reloaded)
            if !tlsShapeChanged {
                if before != reloaded.pems { report.applied.append("tls: certificates, keys and CA reloaded") }
                catalog.checkTLS = tls.lazyCheckClients()
            }
        }
        if new.logLevel != Log.level {
            report.applied.append("log level \(Log.level) -> \(new.logLevel)")
            Log.level = new.logLevel
        }
        if new.enableScriptChecks != runtime.enableScriptChecks || new.enableLocalScriptChecks != runtime.enableLocalScriptChecks {
            report.applied.append("script checks: enable_script_checks=\(new.enableScriptChecks) enable_local_script_checks=\(new.enableLocalScriptChecks)")
        }
        var applyDNS = false
        if new.dns != runtime.dns || new.recursors != runtime.recursors, onReloadDNS != nil {
            if new.dns != runtime.dns { report.applied.append("dns_config") }
            if new.recursors != runtime.recursors {
                report.applied.append("recursors: \(runtime.recursors.joined(separator: ",")) -> \(new.recursors.joined(separator: ","))")
            }
            applyDNS = true
        }
        let previous = runtime
        runtime = new
        if applyDNS { onReloadDNS?(new) }
        let oldServices = fileServiceIDs, oldChecks = fileCheckIDs
        fileServiceIDs = []
        fileCheckIDs = []
        registerConfiguredDefinitions()
        for id in oldServices.subtracting(fileServiceIDs) where isAgentService(id) { _ = deregisterService(id) }
        for id in oldChecks.subtracting(fileCheckIDs) { catalog.removeCheck(id) }
        let added = fileServiceIDs.subtracting(oldServices), removed = oldServices.subtracting(fileServiceIDs)
        if !added.isEmpty || !removed.isEmpty {
            report.applied.append("services from files: " + (added.sorted().map { "+" + $0 } + removed.sorted().map { "-" + $0 }).joined(separator: " "))
        }
        let old = config
        let fixed: [(String, Bool)] = [
            ("node_name", old.nodeName != new.nodeName), ("datacenter", old.datacenter != new.datacenter),
            ("server", old.server != new.server), ("bind_addr", old.bindAddress != new.bindAddress),
            ("advertise_addr", old.advertiseAddress != new.advertiseAddress),
            ("advertise_addr_wan", old.advertiseWANAddress != new.advertiseWANAddress),
            ("client_addr", old.clientAddress != new.clientAddress),
            ("ports", old.httpPort != new.httpPort || old.dnsPort != new.dnsPort || old.serfLANPort != new.serfLANPort
                || old.serfWANPort != new.serfWANPort || old.serverPort != new.serverPort || old.httpsPort != new.httpsPort),
            ("data_dir", old.dataDir != new.dataDir), ("domain", old.domain != new.domain),
            ("retry_join", old.retryJoin != new.retryJoin || old.retryJoinWAN != new.retryJoinWAN),
            ("tls", tlsShapeChanged), ("acl", old.acl != new.acl),
            ("encrypt", old.encryptKey != new.encryptKey),
            // Without a DNS interface (port 0) they change nothing yet: said so.
            ("dns_config", onReloadDNS == nil && previous.dns != new.dns),
            ("recursors", onReloadDNS == nil && previous.recursors != new.recursors),
        ]
        report.needsRestart = fixed.filter(\.1).map(\.0)
        for line in report.applied { Log.info("agent", "reload: \(line)") }
        if !report.needsRestart.isEmpty {
            Log.warn("agent", "reload: changed but not applied until a restart: \(report.needsRestart.joined(separator: ", "))")
        }
        return report
    }
}
