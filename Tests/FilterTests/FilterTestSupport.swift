import Filter
import JSON

/// Parses `expression` and evaluates it against the JSON `datum`.
func evaluate(_ expression: String, on datum: String,
              maps: Set<String> = FilterExpression.consulMapFields) throws -> Bool {
    try FilterExpression.parse(expression).matches(JSONValue.parse(datum), maps: maps)
}

/// The failure's text when parsing or evaluating fails, nil when it succeeds.
func failure(_ expression: String, on datum: String = "{}") -> String? {
    do {
        _ = try evaluate(expression, on: datum)
        return nil
    } catch let error as FilterExpression.Failure {
        return error.description
    } catch {
        return "fixture: \(error)"
    }
}

/// The parse failure's text, nil when `expression` parses.
func parseFailure(_ expression: String) -> String? {
    do {
        _ = try FilterExpression.parse(expression)
        return nil
    } catch {
        return error.description
    }
}

/// A health entry shaped like Consul's /v1/health/service answer.
let healthEntry = #"""
{"Node":{"Node":"n1","Address":"10.0.0.1","Meta":{"rack":"r1"},"TaggedAddresses":{"lan":"10.0.0.1"}},
 "Service":{"ID":"web-1","Service":"web","Tags":["v1","primary"],"Port":80,"Meta":{},"EnableTagOverride":false,
            "TaggedAddresses":{"lan_ipv4":{"Address":"10.0.0.1","Port":80}}},
 "Checks":[{"CheckID":"serfHealth","Status":"passing","Output":"Agent alive","ServiceTags":[]},
           {"CheckID":"service:web-1","Status":"critical","Output":"HTTP GET: 503","ServiceTags":["v1","primary"]}]}
"""#
