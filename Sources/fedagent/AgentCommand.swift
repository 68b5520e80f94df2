import Dispatch
import Agent
import CSystem
import DNSServer
import Glibc
import HTTPAPI
import Sockets

/// `fedagent agent`: runs the agent on the main thread's event loop until
/// it has left (SIGINT/SIGTERM or `PUT /v1/agent/leave`).
enum AgentCommand {
    static let synopsis = "Runs a fedagent agent"

    static func run(_ arguments: [String]) -> Int32 {
        let flags: CommandLineFlags
        let config: AgentConfig
        do {
            flags = try CommandLineFlags(arguments, specs: AgentConfig.flagSpecs)
            if flags.wantsHelp {
                print("Usage: fedagent agent [options]\n\n  \(synopsis).\n\nOptions:\n\n" + CommandLineFlags.usage(AgentConfig.flagSpecs))
                return 0
            }
            guard flags.positional.isEmpty else {
                throw CommandLineFlags.ParseError(description: "unexpected argument \"\(flags.positional[0])\"")
            }
            config = try AgentConfig.from(flags, hostName: HostNetwork.hostName())
        } catch {
            printError("fedagent agent: \(error)")
            return 1
        }
        Log.level = config.logLevel
        for warning in config.warnings { Log.warn("agent", warning) }

        // Block termination signals before any other thread exists, so that
        // only the signalfd on the loop sees them.
        let signals = csystem_termination_signalfd()
        signal(SIGPIPE, SIG_IGN)
        raiseFileLimit()
        do {
            let loop = try EventLoop()
            let agent = try Agent(config: config, loop: loop)
            let api = ConsulAPI(agent: agent)
            guard let httpBind = Endpoint(ip: config.clientAddress, port: config.httpPort) else {
                throw AgentError("invalid client address \(config.clientAddress)")
            }
            let http = try HTTPServer(bind: httpBind, loop: loop) { request, respond in api.handle(request, respond) }
            Log.info("agent", "HTTP API on http://\(http.endpoint)")
            var https: HTTPServer?
            if let port = config.httpsPort, let tls = agent.tls.https {
                guard let bind = Endpoint(ip: config.clientAddress, port: port) else {
                    throw AgentError("invalid client address \(config.clientAddress)")
                }
                https = try HTTPServer(bind: bind, loop: loop, tls: tls) { request, respond in api.handle(request, respond) }
                let clients = config.tls.effectiveHTTPSVerifyIncoming ? "client certificates required" : "no client certificates"
                Log.info("agent", "HTTPS API on https://\(bind) (\(clients))")
            }
            var dnsPublisher: DNSSnapshotPublisher?
            if config.dnsPort != 0 {
                let publisher = DNSSnapshotPublisher(agent: agent)
                let dns = try DNSInterface.start(agent: agent, holder: publisher.holder)
                agent.onReloadDNS = { [unowned agent] new in dns.reload(new, agent: agent) }
                agent.metrics.addSource { [node = config.nodeName] in dns.metricReadings(node: node) }
                dnsPublisher = publisher
                Log.info("agent", "DNS on \(dns.endpoint) (UDP and TCP), domain \(config.domain)")
            }
            defer { withExtendedLifetime(dnsPublisher) {} }
            var exitCode: Int32 = 0
            api.onLeft = {
                http.close()
                https?.close()
                loop.stop()
            }
            let reload = Reloader(flags: flags, loop: loop, agent: agent)
            api.onReload = { done in reload.run(done) }
            if signals >= 0 {
                var signalCount = 0
                loop.register(signals, events: EventLoop.readable) { _ in
                    let signo = csystem_read_signal(signals)
                    guard signo != 0 else { return }
                    if signo == SIGHUP {
                        Log.info("agent", "caught SIGHUP: reloading the configuration")
                        return reload.run { result in
                            if case .failure(let error) = result { Log.error("agent", "reload failed: \(error)") }
                        }
                    }
                    signalCount += 1
                    if signalCount > 1 {
                        Log.warn("agent", "second signal: exiting without waiting")
                        exitCode = 1
                        return loop.stop()
                    }
                    Log.info("agent", "caught signal \(signo): leaving gracefully")
                    agent.leave {
                        http.close()
                        https?.close()
                        loop.stop()
                    }
                }
            }
            loop.run()
            return exitCode
        } catch {
            printError("fedagent agent: \(error)")
            return 1
        }
    }
}

/// Thousands of watchers each hold a connection: take the hard limit on
/// open files rather than the usual soft 1,024.
private func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// Reads the configuration again off the loop (files are read, which may
/// block) and applies it on the loop.
struct Reloader: @unchecked Sendable {
    let flags: CommandLineFlags
    let loop: EventLoop
    let agent: Agent

    func run(_ done: @escaping (Result<Agent.ReloadReport, AgentError>) -> Void) {
        let box = Reply(done: done)
        DispatchQueue.global().async {
            // The files (configuration, certificates) are read here, off the loop.
            let result = Result { () throws(AgentError) -> (AgentConfig, TLSMaterial) in
                let config: AgentConfig
                do {
                    config = try AgentConfig.from(flags, hostName: HostNetwork.hostName())
                } catch {
                    throw AgentError("\(error)")
                }
                return (config, try TLSMaterial.load(config.tls, server: config.server, httpsPort: config.httpsPort))
            }
            let loaded = UncheckedResult(result)
            loop.execute {
                switch loaded.value {
                case .success(let (config, tls)):
                    for warning in config.warnings { Log.warn("agent", warning) }
                    box.done(.success(agent.reload(config, tls: tls)))
                case .failure(let error): box.done(.failure(error))
                }
            }
        }
    }

    struct Reply: @unchecked Sendable {
        let done: (Result<Agent.ReloadReport, AgentError>) -> Void
    }

    /// AgentConfig holds JSON values that are not Sendable; handed over once.
    struct UncheckedResult: @unchecked Sendable {
        let value: Result<(AgentConfig, TLSMaterial), AgentError>
        init(_ value: Result<(AgentConfig, TLSMaterial), AgentError>) { self.value = value }
    }
}
