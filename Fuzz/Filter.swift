// ?filter= expressions from any API client (go-bexpr's language: the
// lexer, the parser and its depth and length limits), evaluated against
// Consul-shaped answers; and the input as a `matches` regular expression
// (LinearRegex, RE2 syntax, linear time) over a few subjects.
@testable import Filter
import JSON

let data: [JSONValue] = [
    #"{"Node":{"Node":"n1","Address":"10.0.0.1","Meta":{"rack":"r1","":"empty"}},"Service":{"ID":"web1","Service":"web","Tags":["v1","primary"],"Port":8080,"Meta":{"version":"2"},"Weights":{"Passing":10,"Warning":1},"EnableTagOverride":false},"Checks":[{"CheckID":"serfHealth","Status":"passing","Output":""},{"CheckID":"service:web1","Status":"critical","Output":"HTTP GET: 503"}]}"#,
    #"[{"ID":"a","Tags":[],"Meta":null,"Port":-1.5},{"ID":"b","Tags":null,"Nested":{"Deep":[[1],[2,3]]}}]"#,
].map { try! JSONValue.parse(Array($0.utf8)) }

let subjects = ["", "web", "HTTP GET: 503", "v1.primary-ü", String(repeating: "ab", count: 40)]

func fuzz(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    if let filter = try? FilterExpression.parse(text) {
        for datum in data {
            _ = try? filter.matches(datum)
            if case .array(let items) = datum { for item in items { _ = try? filter.matches(item) } }
        }
    }
    if let regex = try? LinearRegex(text) {
        for subject in subjects { _ = regex.matches(subject) }
    }
}

func fuzzSeeds() -> [[UInt8]] {
    [
        "Service.Service == web and Service.Tags contains primary",
        "not (Checks.Status != passing or Node.Meta.rack is empty)",
        #"any Checks as c { c.Status == "critical" and c.Output matches `^HTTP [A-Z]+: 5\d\d$` }"#,
        #"all Node.Meta as k, v { k != "" or v not in Service.Tags }"#,
        #""/Service/Port" == 8080 or v1 not in "/Service/Tags" or Service.Weights.Passing != -1.5"#,
        "Service.Meta[\"version\"] is not nil and Checks.0.Status not matches \"^(pass|warn)\"",
        "ID in foo and not Tags is empty or Nested.Deep contains 2",
        #"(?i)^we[b-d]+|x{2,5}?[^\s\w]*\bz\pL$"#,
    ].map(\.fuzzBytes)
}
