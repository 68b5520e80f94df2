import Agent
import Crypto
import JSON
import Sockets

/// `/v1/event/fire/:name` and `/v1/event/list`, in Consul's shapes. An
/// event goes out on this agent's LAN pool (Consul's client hands it to a
/// server, which does the same); the list is this agent's own last 256.
extension ConsulAPI {
    func routeEvent(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        switch (path.first ?? "", path.count) {
        case ("fire", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            respond(Self.text(400, "Missing name"))
        case ("fire", 2):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            respond(fireEvent(request, name: path[1]))
        case ("list", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            guard let wait = BlockingQueries.wait(request.query["wait"]) else {
                return respond(Self.text(400, "Invalid wait time: \"\(request.query["wait"] ?? "")\""))
            }
            listEvents(request, respond, deadline: eventWaiters.deadline(wait: wait))
        default:
            respond(Self.notFound())
        }
    }

    /// Consul validates the filters and the size before anything is sent;
    /// it answers those with a 500, we with a 400 (the request is at fault).
    func fireEvent(_ request: HTTPRequest, name: String) -> HTTPResponse {
        let event = UserEvent(id: NodeIdentity.newUUID(), name: name, payload: request.body,
                              nodeFilter: request.query["node"] ?? "", serviceFilter: request.query["service"] ?? "",
                              tagFilter: request.query["tag"] ?? "")
        if let why = event.validationError() { return Self.text(400, why) }
        let sent = agent.events.fire(event)
        return Self.json(request) { w in Self.writeEvent(sent, &w) }
    }

    /// The list, or with `?index=` equal to its current index, the list
    /// once a new event changes it (or at `deadline`).
    func listEvents(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond, deadline: Instant) {
        var events = agent.events.log.list(name: request.query["name"])
        var filtered = false
        if let view {
            let all = events.count
            events = events.filter { view.authorizer.allows(.event, $0.name, .read) }
            filtered = events.count != all
        }
        let index = UserEventLog.index(of: events)
        if let indexText = request.query["index"] {
            guard let asked = UInt64(indexText) else { return respond(Self.text(400, "Invalid index: \"\(indexText)\"")) }
            if asked == index, agent.loop.now() < deadline {
                let token = view
                eventWaiters.park(until: deadline) { [weak self] _ in
                    guard let self else { return }
                    view = token  // the request's identity, as when it arrived
                    listEvents(request, respond, deadline: deadline)
                }
                return
            }
        }
        var response = Self.json(request) { w in
            w.beginArray()
            for event in events { Self.writeEvent(event, &w) }
            w.endArray()
        }
        response.headers.set("X-Consul-Index", String(index))
        if filtered { response.headers.set("X-Consul-Results-Filtered-By-ACLs", "true") }
        respond(response)
    }

    /// Consul's `UserEvent` JSON: the payload in base64 (null when empty, as
    /// Go's encoding of a nil `[]byte`).
    static func writeEvent(_ e: UserEvent, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("ID", e.id)
        w.field("Name", e.name)
        w.key("Payload")
        if e.payload.isEmpty { w.null() } else { w.string(Base64.encode(e.payload)) }
        w.field("NodeFilter", e.nodeFilter)
        w.field("ServiceFilter", e.serviceFilter)
        w.field("TagFilter", e.tagFilter)
        w.field("Version", e.version)
        w.field("LTime", e.ltime)
        w.endObject()
    }
}
