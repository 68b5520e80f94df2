import Agent
import Filter
import JSON
import Sockets

/// Consul's `/v1` HTTP API over an `Agent`: routing, Consul's status codes
/// and plain-text errors, JSON bodies with `?pretty`. Runs on the agent's
/// loop thread.
public final class ConsulAPI {
    let agent: Agent
    /// Called once the agent has left after `PUT /v1/agent/leave`.
    public var onLeft: () -> Void = {}
    /// Re-reads the configuration and applies it (set by the agent
    /// command, which knows the flags and files); the answer is what
    /// changed, or why the new configuration was refused.
    public var onReload: ((_ done: @escaping (Result<Agent.ReloadReport, AgentError>) -> Void) -> Void)?

    let blocking: BlockingQueries
    /// Requests by method and route, answers by code (read by the agent's metrics).
    let httpMetrics = HTTPMetrics()
    /// Blocking `/v1/event/list` reads, woken by new events.
    let eventWaiters: BlockingQueries
    /// Rendered catalog and health reads by request target, valid while the
    /// replica's index is unchanged: a read-mostly catalog answers repeated
    /// reads without rendering them again.
    private var rendered: [String: (index: UInt64, response: HTTPResponse)] = [:]
    private static let renderedLimit = 512
    /// The current request's ACL identity (nil with ACLs off): set by
    /// `authorize`, read by the endpoints that filter what they list.
    var view: ACLView?

    public init(agent: Agent) {
        self.agent = agent
        blocking = BlockingQueries(loop: agent.loop)
        eventWaiters = BlockingQueries(loop: agent.loop)
        agent.catalog.observeChanges { [weak self] in self?.blocking.changed() }
        agent.metrics.addSource { [weak self] in
            guard let self else { return [] }
            let host = agent.metricsHostname.map { $0 + "." } ?? ""
            return httpMetrics.readings() + [.gauge(MetricKey(host + "api.http.blocking_queries"), Double(parkedQueries))]
        }
        agent.events.observe { [weak self] in self?.eventWaiters.changed() }
        agent.federation.serveHTTP = { [weak self] method, target, body, reply in
            guard let self else { return }
            handle(HTTPRequest(method: method, target: target, body: body), { reply(Self.forwarded($0)) }, mayBlock: true)
        }
    }

    /// Blocking queries parked now (for stats and tests).
    public var parkedQueries: Int { blocking.count + eventWaiters.count }

    public func handle(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond) {
        // Consul's `api.http` timing by method and route (the route's first
        // segments, so the label set stays small), and the answers by code.
        let started = Instant.monotonicNow()
        let counted = httpMetrics
        handle(request, { response in
            counted.record(request.pathSegments, method: request.method, status: response.status,
                           seconds: (Instant.monotonicNow() - started).seconds)
            respond(response)
        }, mayBlock: true)
    }

    /// The web UI when it is on: `/` and `/ui` redirect to `/ui/`, which
    /// (and anything under it: the page routes itself) is the page.
    func ui(_ request: HTTPRequest) -> HTTPResponse? {
        guard agent.config.uiEnabled, request.method == "GET" || request.method == "HEAD" else { return nil }
        let segments = request.pathSegments
        if segments.isEmpty || segments == [""] || (segments == ["ui"] && !request.target.hasPrefix("/ui/")) {
            var redirect = HTTPResponse(status: 301, contentType: "text/html; charset=utf-8",
                                        body: Array("<a href=\"/ui/\">Moved Permanently</a>.\n".utf8))
            redirect.headers.set("Location", "/ui/")
            return redirect
        }
        guard segments.first == "ui" else { return nil }
        var page = HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: UIPage.html)
        page.headers.set("Content-Security-Policy", UIPage.contentSecurityPolicy)
        page.headers.set("X-Content-Type-Options", "nosniff")
        page.headers.set("Cache-Control", "no-cache")
        return page
    }

    /// Consul's path label: the route as registered ("v1_catalog_service_"
    /// for /v1/catalog/service/web), never the names in it.
    static func routeLabel(_ segments: [String]) -> String {
        guard segments.first == "v1", segments.count >= 2 else { return "other" }
        let known = ["agent", "catalog", "health", "status", "operator", "acl", "coordinate", "event", "kv", "query", "txn", "session"]
        guard known.contains(segments[1]) else { return "other" }
        let fixed = segments.prefix(segments[1] == "agent" && segments.count > 3 ? 4 : 3)
        let trimmed = fixed.map { $0.allSatisfy { ($0.isLetter || $0.isNumber) && $0.isASCII || $0 == "-" || $0 == "_" } && $0.count <= 32 ? $0 : "_" }
        return trimmed.joined(separator: "_") + (segments.count > fixed.count ? "_" : "")
    }

    func handle(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond, mayBlock: Bool) {
        let segments = request.pathSegments
        if segments.first != "v1", let page = ui(request) { return respond(page) }
        guard segments.count >= 2, segments[0] == "v1" else { return respond(Self.notFound()) }
        if let denied = authorize(request) { return respond(denied) }
        // Reads of another datacenter go to it, through the servers.
        if let dc = request.query["dc"]?.lowercased(), !dc.isEmpty, dc != agent.config.datacenter {
            guard ["catalog", "health"].contains(segments[1]) else { return respond(Self.text(500, "No path to datacenter")) }
            // The token travels with the request and is checked there (a token is per datacenter).
            let forwarded = RPC.Request.http(method: request.method, target: Self.targetCarryingToken(request), body: request.body)
            // Said here rather than by the far side: writes never leave the datacenter.
            if let why = RPCAllowList.refusal(of: forwarded) { return respond(Self.text(400, why)) }
            let timeout = Federation.timeout(forTarget: request.target)
            agent.federation.forward(forwarded, to: dc, timeout: timeout) { answer in
                guard case .http(let http) = answer else { return respond(Self.forwardingFailure(answer)) }
                var response = HTTPResponse(status: http.status, body: http.body)
                for (name, value) in http.headers {
                    if name.lowercased() == "content-type" { response.contentType = value } else { response.headers.set(name, value) }
                }
                respond(response)
            }
            return
        }
        let replicaRead = request.method == "GET" && Self.readsReplica(segments)
        // A cached answer (filtered, if asked) needs no parsing of the filter.
        if replicaRead, !(mayBlock && request.query["index"] != nil),
           let hit = rendered[cacheKey(request)], hit.index == agent.catalog.replica.index {
            return respond(hit.response)
        }
        let filter: (FilterExpression, FilterShape)?
        switch Self.filter(of: request) {
        case .refused(let bad): return respond(bad)
        case .filter(let expression, let shape): filter = (expression, shape)
        case .none: filter = nil
        }
        let pretty = request.query.contains("pretty")
        let unfiltered = respond
        let respond: HTTPServer.Respond = filter == nil ? respond : { respond(Self.applying(filter, to: $0, pretty: pretty)) }
        if mayBlock, replicaRead, let indexText = request.query["index"] {
            guard let index = UInt64(indexText) else {
                return respond(Self.text(400, "Invalid index: \"\(indexText)\""))
            }
            guard let wait = BlockingQueries.wait(request.query["wait"]) else {
                return respond(Self.text(400, "Invalid wait time: \"\(request.query["wait"] ?? "")\""))
            }
            // Only the current index waits: a newer one answers at once, and
            // an index from before a restart (greater than ours) too, so the
            // client sees the index go back and starts over.
            if index == agent.catalog.replica.index {
                let baseline = renderNow(request)?.body
                park(request, respond, baseline: baseline, until: blocking.deadline(wait: wait))
                return
            }
        }
        if replicaRead {
            let index = agent.catalog.replica.index
            let cacheKey = cacheKey(request)
            let rest = Array(segments.dropFirst(2))
            // The answer is cached filtered: a hit costs no filtering.
            if let hit = rendered[cacheKey], hit.index == index { return unfiltered(hit.response) }
            let store: HTTPServer.Respond = { [weak self] response in
                let answer = filter == nil ? response : Self.applying(filter, to: response, pretty: pretty)
                // A `?near=` answer's order follows coordinates, which move without the index.
                if let self, answer.status == 200, request.query["near"] == nil {
                    if rendered.count >= Self.renderedLimit { rendered.removeAll(keepingCapacity: true) }
                    rendered[cacheKey] = (index, answer)
                }
                unfiltered(answer)
            }
            return segments[1] == "catalog" ? routeCatalog(request, rest, store) : routeHealth(request, rest, store)
        }
        let rest = Array(segments.dropFirst(2))
        switch segments[1] {
        case "agent" where ["services", "service"].contains(rest.first ?? ""):
            routeAgentServices(request, rest, respond)
        case "agent" where ["checks", "check"].contains(rest.first ?? ""):
            routeAgentChecks(request, rest, respond)
        case "agent" where rest.first == "health": routeAgentHealth(request, rest, respond)
        case "agent": routeAgent(request, rest, respond)
        case "health": routeHealth(request, rest, respond)
        case "catalog": routeCatalog(request, rest, respond)
        case "status": routeStatus(request, rest, respond)
        case "operator": routeOperator(request, rest, respond)
        case "acl": routeACL(request, rest, respond)
        case "coordinate": routeCoordinate(request, rest, respond)
        case "event": routeEvent(request, rest, respond)
        default: respond(Self.notFound())
        }
    }

    /// Where a replica read's answer is cached. With ACLs an answer is one
    /// token's view: cached per token.
    private func cacheKey(_ request: HTTPRequest) -> String {
        view.map { request.target + "\u{0}\($0.identity.accessorID)\u{0}\(agent.acl.store.index)" } ?? request.target
    }

    /// The target with the request's token as `?token=` when it came in a
    /// header: the far datacenter sees only the target.
    static func targetCarryingToken(_ request: HTTPRequest) -> String {
        guard request.query["token"] == nil, let token = token(of: request) else { return request.target }
        let escaped = token.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d }
        guard escaped else { return request.target }  // UUIDs: anything else is not a token any agent issues
        return request.target + (request.target.contains("?") ? "&" : "?") + "token=" + token
    }

    /// Catalog and health reads answered from the replica: they block on
    /// and are cached by its index. The datacenter list comes from the WAN
    /// pool instead, so it is neither.
    static func readsReplica(_ segments: [String]) -> Bool {
        ["catalog", "health"].contains(segments[1]) && !(segments[1] == "catalog" && segments.dropFirst(2).first == "datacenters")
    }

    /// Waits for a change to the answer of `request`: a catalog change that
    /// leaves the rendered body as it was parks the request again.
    private func park(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond, baseline: [UInt8]?, until deadline: Instant) {
        blocking.park(until: deadline) { [weak self] changed in
            guard let self else { return }
            if changed, let baseline, agent.loop.now() < deadline,
               let fresh = renderNow(request), fresh.status == 200, fresh.body == baseline {
                return park(request, respond, baseline: baseline, until: deadline)
            }
            handle(request, respond, mayBlock: false)
        }
    }

    /// The answer to a catalog or health read if it is rendered synchronously
    /// (they all are); nil otherwise.
    private func renderNow(_ request: HTTPRequest) -> HTTPResponse? {
        var result: HTTPResponse?
        handle(request, { result = $0 }, mayBlock: false)
        return result
    }

    /// A response as it travels back to the datacenter that asked.
    static func forwarded(_ response: HTTPResponse) -> RPC.HTTPAnswer {
        var headers = response.headers.fields.map { ($0.name, $0.value) }
        if let type = response.contentType { headers.append(("Content-Type", type)) }
        return RPC.HTTPAnswer(status: response.status, headers: headers, body: response.body)
    }

    /// Consul's 500 for a datacenter without a path, or the RPC's reason.
    static func forwardingFailure(_ answer: RPC.Answer) -> HTTPResponse {
        guard case .failure(let failure) = answer else { return text(500, "rpc: unexpected answer") }
        return text(500, failure.message)
    }

    /// ACL tokens (`X-Consul-Token`, `?token=`) will be checked here; for
    /// now every request is allowed.
    // MARK: - Helpers shared by the endpoints

    static func notFound() -> HTTPResponse { text(404, "404 page not found") }

    static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8))
    }

    /// Consul answers a wrong method with 405, an Allow header and this text.
    static func methodNotAllowed(_ request: HTTPRequest, allow: [String]) -> HTTPResponse {
        var r = text(405, "method \(request.method) not allowed")
        r.headers.set("Allow", allow.joined(separator: ","))
        return r
    }

    /// Checks the method; returns the 405 response to send if it is wrong.
    static func require(_ request: HTTPRequest, _ allowed: String...) -> HTTPResponse? {
        let method = request.method == "HEAD" ? "GET" : request.method
        return allowed.contains(method) ? nil : methodNotAllowed(request, allow: allowed)
    }

    static func json(_ request: HTTPRequest, _ build: (inout JSONWriter) -> Void) -> HTTPResponse {
        var writer = JSONWriter(pretty: request.query.contains("pretty"))
        build(&writer)
        return HTTPResponse(status: 200, contentType: "application/json", body: writer.bytes)
    }

    static func empty() -> HTTPResponse { HTTPResponse(status: 200, body: []) }

    /// Answers `response` once the change just made is durable: an
    /// acknowledged registration survives `kill -9`. A failed write is a
    /// 500 (the change stays in memory and is saved again every second).
    func respondWhenDurable(_ response: HTTPResponse, _ respond: @escaping HTTPServer.Respond) {
        agent.whenDurable { failure in
            guard let failure else { return respond(response) }
            respond(Self.text(500, "the change is applied but could not be saved: \(failure)"))
        }
    }

    static func isTrue(_ request: HTTPRequest, _ name: String) -> Bool {
        guard request.query.contains(name) else { return false }
        let v = request.query[name] ?? ""
        return v.isEmpty || v == "1" || v.lowercased() == "true"
    }
}
