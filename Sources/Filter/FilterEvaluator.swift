import JSON

/// Evaluates a parsed filter against one JSON datum the way go-bexpr
/// evaluates it against the Go value the JSON was encoded from.
///
/// JSON cannot tell a Go map from a struct, and go-bexpr treats a missing
/// key differently in each: under a map it is "not present" (the operator's
/// disposition: `!=` is true, `==` false...), under a struct it is an error.
/// So objects reached through a field named in `maps` are maps; every other
/// object (the datum itself included) is a struct. A `null` where a map is
/// expected is an empty map (Go's nil map); any other `null` is an empty list
/// (Go's nil slice, which is what Consul encodes as null).
///
/// One extension over go-bexpr, which Consul's documentation relies on (older
/// go-bexpr had it): a field name applied to a list of objects applies the
/// rest of the selector to every element, and the match is true when it is
/// true for any element, whatever the operator. So on a health entry
/// `Checks.Status == passing` means "some check is passing" and
/// `Checks.Status != passing` "some check is not passing". A numeric part
/// (`Checks.0.Status`) still indexes.
struct FilterEvaluator {
    typealias Failure = FilterExpression.Failure

    let datum: JSONValue
    let maps: Set<String>
    /// One frame per enclosing `any`/`all` being iterated, outermost first.
    private var frames: [Frame] = []

    private struct Frame {
        /// The element's index (a number) or map key (a string).
        var key: JSONValue
        var element: JSONValue
        var elementIsMap: Bool
        var overMap: Bool
    }

    /// What a selector reaches: a value (and whether it is a map), or a key
    /// missing from a map.
    private enum Selected {
        case value(JSONValue, isMap: Bool)
        case absent
    }

    init(datum: JSONValue, maps: Set<String>) {
        self.datum = datum
        self.maps = maps
    }

    mutating func evaluate(_ node: FilterNode) throws(Failure) -> Bool {
        switch node {
        case .or(let terms):
            for term in terms {
                if try evaluate(term) { return true }
            }
            return false
        case .and(let terms):
            for term in terms {
                if try !evaluate(term) { return false }
            }
            return true
        case .not(let operand):
            return try !evaluate(operand)
        case .match(let match):
            for selected in try select(match.selector) {
                switch selected {
                case .absent:
                    if match.op.whenAbsent { return true }
                case .value(let value, let isMap):
                    if try apply(match, match.op, to: value, isMap: isMap) { return true }
                }
            }
            return false
        case .collection(let collection):
            return try evaluate(collection)
        }
    }

    // MARK: - any / all

    private mutating func evaluate(_ collection: FilterCollection) throws(Failure) -> Bool {
        let wanted = collection.quantifier == .any
        for selected in try select(collection.selector) {
            // A key missing from a map is an empty collection: `all` holds,
            // `any` does not (go-bexpr).
            guard case .value(let value, let isMap) = selected else { continue }
            switch value {
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    let frame = Frame(key: .number(Double(index)), element: element, elementIsMap: false, overMap: false)
                    if try evaluate(collection.body, in: frame) == wanted { return wanted }
                }
            case .object(let members) where isMap:
                for (key, element) in members {
                    let frame = Frame(key: .string(key), element: element, elementIsMap: maps.contains(key), overMap: true)
                    if try evaluate(collection.body, in: frame) == wanted { return wanted }
                }
            case .null:
                continue
            default:
                throw Failure("\(collection.selector.written) is not a list or a map")
            }
        }
        return !wanted
    }

    private mutating func evaluate(_ body: FilterNode, in frame: Frame) throws(Failure) -> Bool {
        frames.append(frame)
        defer { frames.removeLast() }
        return try evaluate(body)
    }

    // MARK: - Selectors

    private func select(_ selector: FilterSelector) throws(Failure) -> [Selected] {
        var current: [Selected]
        var partOffset = 0
        switch selector.base {
        case .datum:
            current = [.value(datum, isMap: false)]
        case .variable(let level, let role):
            guard frames.indices.contains(level) else {
                throw Failure("\(selector.written) refers to a name that is not bound here")
            }
            let frame = frames[level]
            if role == .index || (role == .element && frame.overMap) {
                guard selector.parts.isEmpty else {
                    let kind = frame.overMap ? "string" : "int"
                    let name = selector.pointer.first ?? ""
                    throw Failure("/\(name) references a \(kind) so \(Self.pointer(selector.pointer)) is invalid")
                }
                return [.value(frame.key, isMap: false)]
            }
            current = [.value(frame.element, isMap: frame.elementIsMap)]
            partOffset = 1
        }
        for (index, part) in selector.parts.enumerated() {
            let last = index == selector.parts.count - 1
            let at = index + partOffset
            var next: [Selected] = []
            // Grows while lists are projected through (see the type's comment).
            var pending = current
            var cursor = 0
            while cursor < pending.count {
                let item = pending[cursor]
                cursor += 1
                guard case .value(let value, let isMap) = item else { continue }
                switch value {
                case .object(let members):
                    if let child = members.last(where: { FilterCoercion.equal($0.0, part) })?.1 {
                        next.append(.value(child, isMap: maps.contains(part)))
                    } else if !isMap {
                        throw notFound(selector, at: at, "couldn't find key: struct field with name \"\(part)\"")
                    } else if last {
                        next.append(.absent)
                    } else {
                        throw notFound(selector, at: at, "couldn't find key \"\(part)\"")
                    }
                case .null where isMap:
                    guard last else { throw notFound(selector, at: at, "couldn't find key \"\(part)\"") }
                    next.append(.absent)
                case .array, .null:
                    let elements = value.arrayValue ?? []
                    guard let position = Self.arrayIndex(part) else {
                        pending.append(contentsOf: elements.map { .value($0, isMap: false) })
                        continue
                    }
                    guard position >= 0, position < elements.count else {
                        throw notFound(selector, at: at, "index \(part) is out of range (length = \(elements.count))")
                    }
                    next.append(.value(elements[position], isMap: false))
                case .string, .number, .bool:
                    throw Failure("error finding value in datum: \(Self.pointer(selector.pointer)): at part \(at), invalid value kind: \(Self.kind(value))")
                }
            }
            current = next
        }
        return current
    }

    private func notFound(_ selector: FilterSelector, at part: Int, _ reason: String) -> Failure {
        Failure("error finding value in datum: \(Self.pointer(selector.pointer)) at part \(part): \(reason)")
    }

    /// `-?[0-9]+` as an index (clamped, so a huge one is out of range rather
    /// than a trap), or nil for a field name.
    private static func arrayIndex(_ part: String) -> Int? {
        var digits = part.utf8[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value = 0
        for byte in digits {
            value = min(value * 10 + Int(byte - 0x30), 1 << 40)
        }
        return negative ? -value : value
    }

    static func pointer(_ parts: [String]) -> String {
        "/" + parts.map { $0.replacingAll("~", with: "~0").replacingAll("/", with: "~1") }.joined(separator: "/")
    }

    static func kind(_ value: JSONValue, isMap: Bool = false) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .array: return "list"
        case .object: return isMap ? "map" : "struct"
        }
    }

    // MARK: - Operators

    /// One operator on one selected value. Like go-bexpr, `contains` and
    /// `is empty` apply to maps but not to structs.
    private func apply(_ match: FilterMatch, _ op: FilterOperator, to value: JSONValue, isMap: Bool) throws(Failure) -> Bool {
        if let positive = op.positive { return try !apply(match, positive, to: value, isMap: isMap) }
        let written = match.selector.written
        switch op {
        case .equal:
            return try equal(match, value)
        case .contains:
            switch value {
            case .object(let members) where isMap:
                return members.contains { FilterCoercion.equal($0.0, match.value ?? "") }
            case .array(let elements):
                // Elements of another kind than the value are skipped, as
                // go-bexpr skips them in a []interface{}.
                return elements.contains { (try? equal(match, $0)) == true }
            case .string(let text):
                return FilterCoercion.contains(text, match.value ?? "")
            case .null:
                return false
            case .number, .bool, .object:
                throw Failure("cannot perform in/contains operations on type \(Self.kind(value)) for selector: \"\(written)\"")
            }
        case .isEmpty:
            switch value {
            case .string(let text): return text.isEmpty
            case .array(let elements): return elements.isEmpty
            case .object(let members) where isMap: return members.isEmpty
            case .null: return true
            case .number, .bool, .object:
                throw Failure("cannot perform is-empty operations on type \(Self.kind(value)) for selector: \"\(written)\"")
            }
        case .isNil:
            switch value {
            case .null: return true
            case .array, .object: return false
            case .string, .number, .bool:
                throw Failure("cannot perform is-nil operations on type \(Self.kind(value)) for selector: \"\(written)\"")
            }
        case .matches:
            guard case .string(let text) = value, let regex = match.regex else {
                throw Failure("cannot perform matches operations on type \(Self.kind(value)) for selector: \"\(written)\"")
            }
            return regex.matches(text)
        case .notEqual, .notContains, .isNotEmpty, .isNotNil, .notMatches:
            return false   // unreachable: handled through `positive` above
        }
    }

    /// `==` with the value coerced to the datum's kind.
    private func equal(_ match: FilterMatch, _ value: JSONValue) throws(Failure) -> Bool {
        let text = match.value ?? ""
        switch value {
        case .string(let string):
            return FilterCoercion.equal(string, text)
        case .number(let number):
            guard let wanted = match.number else {
                throw Failure("error getting match value in expression: \"\(text)\" is not a number (selector \"\(match.selector.written)\")")
            }
            return number == wanted
        case .bool(let bool):
            guard let wanted = match.boolean else {
                throw Failure("error getting match value in expression: \"\(text)\" is not a boolean (selector \"\(match.selector.written)\")")
            }
            return bool == wanted
        case .null, .array, .object:
            let what = value.isNull ? "null" : value.arrayValue != nil ? "a list" : "an object"
            throw Failure("unable to find suitable primitive comparison function for matching: \"\(match.selector.written)\" is \(what)")
        }
    }
}
