/// The syntax tree of a parsed filter. `and`/`or` chains are n-ary so a long
/// chain is one node, not a deep tree: evaluation depth is bounded by the
/// nesting limit alone.
indirect enum FilterNode: Sendable {
    case or([FilterNode])
    case and([FilterNode])
    case not(FilterNode)
    case match(FilterMatch)
    case collection(FilterCollection)
}

/// go-bexpr's match operators. `contains` and `in` are one operator written
/// two ways (the selector is on the right of `in`).
enum FilterOperator: Sendable {
    case equal, notEqual
    case contains, notContains
    case isEmpty, isNotEmpty
    case isNil, isNotNil
    case matches, notMatches

    /// What a match yields when the selected key is missing from a map
    /// (go-bexpr's `NotPresentDisposition`): a missing key equals nothing,
    /// contains nothing, is empty and is nil.
    var whenAbsent: Bool {
        switch self {
        case .equal, .contains, .isNotEmpty, .matches, .isNotNil: return false
        case .notEqual, .notContains, .isEmpty, .notMatches, .isNil: return true
        }
    }

    /// The operator whose result this one negates, if it is a negated form.
    var positive: FilterOperator? {
        switch self {
        case .notEqual: return .equal
        case .notContains: return .contains
        case .isNotEmpty: return .isEmpty
        case .isNotNil: return .isNil
        case .notMatches: return .matches
        default: return nil
        }
    }
}

/// Where a selector starts: the datum itself, or a name bound by an
/// enclosing `any`/`all` (resolved at parse time: `level` is the index of
/// that collection among the enclosing ones, outermost first).
enum FilterSelectorBase: Sendable, Equatable {
    case datum
    case variable(level: Int, role: FilterBindingRole)
}

/// What a collection name stands for. `element` is `as x` (the element of a
/// list, the key of a map), `index` the first of `as k, v`, `value` the second.
enum FilterBindingRole: Sendable, Equatable {
    case element, index, value
}

struct FilterSelector: Sendable {
    var base: FilterSelectorBase
    /// The path after the base (for a variable, without the variable's name).
    var parts: [String]
    /// The selector as written, for error messages.
    var written: String
    /// The path as a JSON pointer including a variable's name, for error
    /// messages shaped like go-bexpr's ("/Node/Foo at part 1").
    var pointer: [String]
}

struct FilterMatch: Sendable {
    var selector: FilterSelector
    var op: FilterOperator
    /// The value's text; go-bexpr coerces it to the selected datum's kind at
    /// evaluation time. Nil for `is empty` / `is nil`.
    var value: String?
    /// Compiled once at parse time for `matches` / `not matches`.
    var regex: LinearRegex?
    /// The value read as a number and as a boolean (nil if it is not one),
    /// computed once rather than for every datum and element.
    var number: Double?
    var boolean: Bool?

    init(selector: FilterSelector, op: FilterOperator, value: String?, regex: LinearRegex?) {
        self.selector = selector
        self.op = op
        self.value = value
        self.regex = regex
        number = value.flatMap(FilterCoercion.number)
        boolean = value.flatMap(FilterCoercion.bool)
    }
}

enum FilterQuantifier: Sendable {
    case any, all
}

struct FilterCollection: Sendable {
    var quantifier: FilterQuantifier
    var selector: FilterSelector
    var body: FilterNode
}
