import Agent
import JSON
import Membership

/// `/v1/coordinate/*` in Consul's shapes, and `?near=` ordering for the
/// catalog and health reads. LAN coordinates are the LAN pool's (ours and
/// the last one each member sent); WAN coordinates are the servers' WAN
/// pool's, which a client asks a server of its datacenter for.
extension ConsulAPI {
    func routeCoordinate(_ request: HTTPRequest, _ path: [String], _ respond: @escaping HTTPServer.Respond) {
        // Consul's answer with `disable_coordinates`.
        if agent.config.disableCoordinates { return respond(Self.text(401, "Coordinate support disabled")) }
        switch (path.first ?? "", path.count) {
        case ("datacenters", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            coordinateDatacenters(request, respond)
        case ("nodes", 1):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            let all = lanCoordinates(request)
            let entries = all.filter { view?.mayRead(node: $0.node) ?? true }
            if entries.count != all.count { view?.filtered = true }
            respond(indexed(request) { w in Self.writeCoordinateEntries(entries, &w) })
        case ("node", 2):
            if let bad = Self.require(request, "GET") { return respond(bad) }
            let node = path[1]
            if let view, !view.mayRead(node: node) {
                return respond(Self.permissionDenied(view.identity, .node, .read, node))
            }
            let entries = lanCoordinates(request).filter { $0.node == node }
            // Consul: a node without a coordinate is a bare 404.
            guard !entries.isEmpty else { return respond(HTTPResponse(status: 404)) }
            respond(indexed(request) { w in Self.writeCoordinateEntries(entries, &w) })
        case ("update", 1):
            if let bad = Self.require(request, "PUT") { return respond(bad) }
            respond(coordinateUpdate(request))
        default:
            respond(Self.notFound())
        }
    }

    /// Every LAN coordinate known, by node name; none when `?segment=`
    /// names a segment (we have only the default one, "").
    func lanCoordinates(_ request: HTTPRequest) -> [(node: String, coordinate: Vivaldi.Coordinate)] {
        if let segment = request.query["segment"], !segment.isEmpty { return [] }
        return agent.lan.instance.coordinates.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func coordinateDatacenters(_ request: HTTPRequest, _ respond: @escaping HTTPServer.Respond) {
        if let maps = agent.federation.wanCoordinates() {
            return respond(Self.json(request) { w in
                w.beginArray()
                for map in maps {
                    w.beginObject()
                    w.field("Datacenter", map.datacenter)
                    w.field("AreaID", "wan")
                    w.key("Coordinates")
                    Self.writeCoordinateEntries(map.coordinates, &w)
                    w.endObject()
                }
                w.endArray()
            })
        }
        // A client: the servers of its datacenter are in the WAN pool.
        agent.federation.askLocalServer(.http(method: "GET", target: "/v1/coordinate/datacenters", body: [])) { answer in
            guard case .http(let http) = answer else { return respond(Self.forwardingFailure(answer)) }
            respond(HTTPResponse(status: http.status, contentType: "application/json", body: http.body))
        }
    }

    /// `PUT /v1/coordinate/update` with Consul's body
    /// `{"Node", "Segment", "Coord": {"Vec", "Error", "Adjustment", "Height"}}`.
    /// As in Consul, a node that is not a member is dropped silently (its
    /// own agent reports again); a coordinate that is not usable is a 400.
    func coordinateUpdate(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = try? JSONValue.parse(request.body), body.objectValue != nil else {
            return Self.text(400, "Request decode failed: body is not a JSON object")
        }
        guard let node = body.value(forKeyIgnoringCase: "Node")?.stringValue, !node.isEmpty else {
            return Self.text(400, "Request decode failed: missing Node")
        }
        if let view, !view.authorizer.allows(.node, node, .write) {
            return Self.permissionDenied(view.identity, .node, .write, node)
        }
        let coordinate: Vivaldi.Coordinate
        switch Self.parseCoordinate(body.value(forKeyIgnoringCase: "Coord")) {
        case .failure(let why): return Self.text(400, "Request decode failed: \(why)")
        case .success(let c): coordinate = c
        }
        do {
            try agent.lan.setCoordinate(coordinate, of: node)
        } catch {
            return Self.text(400, error == .incompatible ? "incompatible coordinate" : "invalid coordinate")
        }
        return Self.empty()
    }

    public struct CoordinateDecodeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Serf's coordinate JSON (`{"Vec", "Error", "Adjustment", "Height"}`);
    /// numbers only, `Vec` an array of them. Usability is checked apart.
    public static func parseCoordinate(_ json: JSONValue?) -> Result<Vivaldi.Coordinate, CoordinateDecodeError> {
        guard let json, json.objectValue != nil else { return .failure(.init(description: "missing Coord")) }
        guard let vec = json.value(forKeyIgnoringCase: "Vec")?.arrayValue else {
            return .failure(.init(description: "Coord.Vec must be an array of numbers"))
        }
        let vector = vec.compactMap(\.doubleValue)
        guard vector.count == vec.count else { return .failure(.init(description: "Coord.Vec must be an array of numbers")) }
        var scalars: [Double] = []
        for name in ["Error", "Adjustment", "Height"] {
            let value = json.value(forKeyIgnoringCase: name)
            if value == nil || value?.isNull == true { scalars.append(0); continue }
            guard let number = value?.doubleValue else { return .failure(.init(description: "Coord.\(name) must be a number")) }
            scalars.append(number)
        }
        return .success(Vivaldi.Coordinate(vector: vector, error: scalars[0], adjustment: scalars[1], height: scalars[2]))
    }

    static func writeCoordinateEntries(_ entries: [(node: String, coordinate: Vivaldi.Coordinate)], _ w: inout JSONWriter) {
        w.beginArray()
        for (node, c) in entries {
            w.beginObject()
            w.field("Node", node)
            w.field("Segment", "")
            w.key("Coord")
            w.beginObject()
            w.key("Vec")
            w.beginArray()
            for x in c.vector { w.double(x) }
            w.endArray()
            w.field("Error", c.error)
            w.field("Adjustment", c.adjustment)
            w.field("Height", c.height)
            w.endObject()
            w.endObject()
        }
        w.endArray()
    }

    /// `?near=node` (or `_agent`, this agent): records nearest first by
    /// estimated LAN round trip from that node; nodes without a coordinate
    /// keep their order after the others. Without a coordinate for the
    /// origin the order stays as it is (Consul's rule).
    func sortedNear(_ request: HTTPRequest, _ records: [Catalog.NodeRecord]) -> [Catalog.NodeRecord] {
        guard let near = request.query["near"], !near.isEmpty else { return records }
        let origin = agent.lan.coordinate(of: near == "_agent" ? agent.config.nodeName : near)
        return Vivaldi.sorted(records, near: origin) { agent.lan.coordinate(of: $0.node) }
    }
}
