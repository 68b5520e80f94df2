import JSON

/// A parsed `?filter=` expression (Consul's go-bexpr language), evaluated
/// against JSON values shaped as Consul's answers are.
public struct FilterExpression: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let source: String

    public static func parse(_ text: String) throws(Failure) -> FilterExpression {
        throw Failure("filter expressions are being written")
    }

    public func matches(_ datum: JSONValue) throws(Failure) -> Bool {
        throw Failure("filter expressions are being written")
    }
}
