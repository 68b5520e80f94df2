import JSON

/// A parsed `?filter=` expression (Consul's go-bexpr language), evaluated
/// against JSON values shaped as Consul's answers are.
///
///     let filter = try FilterExpression.parse(#"Service.Tags contains primary and Checks.Status == passing"#)
///     let kept = try entries.filter { try filter.matches($0) }
///
/// Parsing refuses expressions longer than 4096 bytes or nested deeper than
/// 32 levels, and compiles every `matches` regular expression (RE2 syntax,
/// matched in linear time). Evaluation follows go-bexpr; see
/// `FilterEvaluator` for how JSON objects stand for Go maps and structs.
public struct FilterExpression: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let source: String
    let root: FilterNode

    /// The fields whose values are Go maps in Consul's answers: a key
    /// missing under them is "not present" rather than an error.
    public static let consulMapFields: Set<String> = [
        "Meta", "NodeMeta", "ServiceMeta", "TaggedAddresses", "ServiceTaggedAddresses",
        "Header",   // a health check definition's HTTP headers
        "Config",   // a proxy's or an upstream's opaque configuration
    ]

    /// Parses `text`. Failures read like go-bexpr's, "1:10 (9): message"
    /// (line, column, byte offset); Consul's HTTP layer prefixes them with
    /// "Failed to create boolean expression evaluator: ".
    public static func parse(_ text: String) throws(Failure) -> FilterExpression {
        do throws(FilterParser.Failure) {
            return FilterExpression(source: text, root: try FilterParser.parse(text))
        } catch {
            throw Failure(FilterParser.describe(error, in: text))
        }
    }

    /// Whether `datum` passes the filter. `maps` names the fields whose
    /// objects are maps (see `consulMapFields`). Throws where go-bexpr's
    /// evaluation fails, e.g. for a field missing from a struct or `==`
    /// between a number and a word.
    public func matches(_ datum: JSONValue, maps: Set<String> = FilterExpression.consulMapFields) throws(Failure) -> Bool {
        var evaluator = FilterEvaluator(datum: datum, maps: maps)
        return try evaluator.evaluate(root)
    }
}
