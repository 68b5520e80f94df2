import Filter
import JSON

/// `?filter=` on the list endpoints Consul filters: the answer is rendered
/// as usual, then only the entries the expression matches are kept (the
/// elements of a list, the values of an agent's services or checks, the
/// `Services` of a catalog node). Blocking queries compare and cache the
/// filtered answer, so they wake only when it changes.
extension ConsulAPI {
    enum FilterShape {
        case list, objectValues, nodeServices
    }

    /// The shape of a filterable answer at `segments`, nil where Consul has no filter.
    static func filterShape(_ segments: [String]) -> FilterShape? {
        let rest = Array(segments.dropFirst(1))
        switch (rest.first ?? "", rest.count) {
        case ("agent", 2) where ["services", "checks"].contains(rest[1]): return .objectValues
        case ("catalog", 2) where rest[1] == "nodes": return .list
        case ("catalog", 3) where rest[1] == "service": return .list
        case ("catalog", 3) where rest[1] == "node": return .nodeServices
        case ("health", 3) where ["service", "node", "checks", "state"].contains(rest[1]): return .list
        default: return nil
        }
    }

    static let filterErrorPrefix = "Failed to create boolean expression evaluator: "

    enum ParsedFilter {
        case none
        case filter(FilterExpression, FilterShape)
        /// A bad expression: the 400 to answer instead.
        case refused(HTTPResponse)
    }

    static func filter(of request: HTTPRequest) -> ParsedFilter {
        guard let text = request.query["filter"], !text.isEmpty, let shape = filterShape(request.pathSegments) else {
            return .none
        }
        do {
            return .filter(try FilterExpression.parse(text), shape)
        } catch {
            return .refused(Self.text(400, filterErrorPrefix + error.description))
        }
    }

    /// `response` with only the matching entries; an expression that
    /// cannot be evaluated on these entries (a selector they do not have)
    /// is a 400, as Consul answers.
    static func applying(_ filter: (FilterExpression, FilterShape)?, to response: HTTPResponse, pretty: Bool) -> HTTPResponse {
        guard let (expression, shape) = filter, response.status == 200, let parsed = try? JSONValue.parse(response.body) else {
            return response
        }
        var kept: JSONValue
        do {
            switch (shape, parsed) {
            case (.list, .array(let entries)):
                kept = .array(try entries.filter { try expression.matches($0) })
            case (.objectValues, .object(let members)):
                kept = .object(try members.filter { try expression.matches($0.1) })
            case (.nodeServices, .object(var members)):
                if let i = members.firstIndex(where: { $0.0 == "Services" }), case .object(let services) = members[i].1 {
                    members[i].1 = .object(try services.filter { try expression.matches($0.1) })
                }
                kept = .object(members)
            default:
                return response
            }
        } catch {
            return Self.text(400, filterErrorPrefix + "\(error)")
        }
        var filtered = response
        filtered.body = kept.serialized(pretty: pretty)
        return filtered
    }
}
