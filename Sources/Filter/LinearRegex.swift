/// A regular expression in RE2 syntax (what go-bexpr's `matches` takes),
/// matched in time linear in the text: the pattern is compiled to a small
/// program and simulated as an NFA over all threads at once (Thompson's
/// construction, Pike's VM), never by backtracking. `(a*)*b` against a long
/// run of `a`s costs the same per character as `ab`.
///
/// Like Go's `Regexp.MatchString`, `matches` searches: the pattern may match
/// anywhere unless anchored with `^`/`$`. Text is read as Unicode scalars.
package struct LinearRegex: Sendable {
    package struct Failure: Error, CustomStringConvertible, Sendable {
        package let description: String
    }

    /// Programs are bounded so a pattern like `((a{1000}){1000}){1000}`
    /// is refused instead of allocating without end; the work per text
    /// character is at most this many steps.
    static let maxInstructions = 10_000
    static let maxPatternLength = 4096

    package let pattern: String
    private let program: [Instruction]
    private let sets: [RegexCharSet]
    private let folds: Bool
    /// The program can only match at the start of the text (`^...`).
    private let anchored: Bool

    enum Instruction: Sendable {
        case scalar(Unicode.Scalar)
        /// A case-insensitive literal: matches a scalar with the same lower
        /// or upper case.
        case folded(Unicode.Scalar, lower: Unicode.Scalar, upper: Unicode.Scalar)
        case anyScalar(matchesNewline: Bool)
        case set(Int)
        case assertion(RegexAssertion)
        case split(Int, Int)
        case jump(Int)
        case match
    }

    package init(_ pattern: String) throws(Failure) {
        guard pattern.unicodeScalars.count <= Self.maxPatternLength else {
            throw Failure(description: "expression too long (more than \(Self.maxPatternLength) characters)")
        }
        var parser = RegexParser(pattern)
        let tree = try parser.parse()
        var compiler = Compiler()
        try compiler.compile(tree)
        _ = try compiler.emit(.match)
        self.pattern = pattern
        program = compiler.program
        sets = parser.sets
        folds = compiler.program.contains { instruction in
            if case .folded = instruction { return true }
            return false
        } || parser.sets.contains { $0.foldCase }
        if case .assertion(.beginText) = compiler.program.first { anchored = true } else { anchored = false }
    }

    /// Whether the pattern matches anywhere in `text`.
    package func matches(_ text: String) -> Bool {
        let input = Array(text.unicodeScalars)
        var current = ThreadList(size: program.count)
        var next = ThreadList(size: program.count)
        var stack: [Int] = []
        current.reset(generation: 0)
        for position in 0...input.count {
            // An unanchored search starts a new thread at every position.
            if position == 0 || !anchored {
                if follow(from: 0, at: position, in: input, into: &current, stack: &stack) { return true }
            } else if current.threads.isEmpty {
                return false
            }
            guard position < input.count else { break }
            let scalar = input[position]
            let lower = folds ? RegexCharSet.lower(scalar) : scalar
            let upper = folds ? RegexCharSet.upper(scalar) : scalar
            next.reset(generation: position + 1)
            for pc in current.threads where consumes(program[pc], scalar, lower: lower, upper: upper) {
                if follow(from: pc + 1, at: position + 1, in: input, into: &next, stack: &stack) { return true }
            }
            swap(&current, &next)
        }
        return false
    }

    private func consumes(_ instruction: Instruction, _ scalar: Unicode.Scalar,
                          lower: Unicode.Scalar, upper: Unicode.Scalar) -> Bool {
        switch instruction {
        case .scalar(let wanted): return scalar == wanted
        case .folded(let wanted, let wantedLower, let wantedUpper):
            return scalar == wanted || lower == wantedLower || upper == wantedUpper
        case .anyScalar(let matchesNewline): return matchesNewline || scalar != "\n"
        case .set(let index): return sets[index].contains(scalar, lower: lower, upper: upper)
        case .assertion, .split, .jump, .match: return false
        }
    }

    /// Adds the threads reachable from `start` without consuming input
    /// (through jumps, splits and assertions that hold at `position`) to
    /// `list`; true if one of them is the match. Each instruction is visited
    /// at most once per position, which is what bounds the work and makes
    /// empty loops like `(a*)*` terminate.
    private func follow(from start: Int, at position: Int, in input: [Unicode.Scalar],
                        into list: inout ThreadList, stack: inout [Int]) -> Bool {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            guard list.visit(pc) else { continue }
            switch program[pc] {
            case .match:
                return true
            case .jump(let target):
                stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertion(let assertion):
                if Self.holds(assertion, at: position, in: input) { stack.append(pc + 1) }
            case .scalar, .folded, .anyScalar, .set:
                list.threads.append(pc)
            }
        }
        return false
    }

    private static func holds(_ assertion: RegexAssertion, at position: Int, in input: [Unicode.Scalar]) -> Bool {
        let before = position > 0 ? input[position - 1] : nil
        let after = position < input.count ? input[position] : nil
        switch assertion {
        case .beginText: return position == 0
        case .endText: return position == input.count
        case .beginLine: return before == nil || before == "\n"
        case .endLine: return after == nil || after == "\n"
        case .wordBoundary: return isWord(before) != isWord(after)
        case .notWordBoundary: return isWord(before) == isWord(after)
        }
    }

    /// RE2's `\b` is ASCII: `[0-9A-Za-z_]`.
    private static func isWord(_ scalar: Unicode.Scalar?) -> Bool {
        guard let scalar, scalar.isASCII else { return false }
        return ("0"..."9").contains(scalar) || ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) || scalar == "_"
    }

    /// The threads of one position: the consuming instructions reached, in
    /// order, and a generation-stamped visited mark per instruction (so
    /// clearing the list is O(1)).
    private struct ThreadList {
        var threads: [Int] = []
        private var marks: [Int]
        private var generation = -1

        init(size: Int) { marks = Array(repeating: -1, count: size) }

        mutating func reset(generation: Int) {
            threads.removeAll(keepingCapacity: true)
            self.generation = generation
        }

        /// Marks `pc` visited; false if it already was.
        mutating func visit(_ pc: Int) -> Bool {
            guard marks.indices.contains(pc), marks[pc] != generation else { return false }
            marks[pc] = generation
            return true
        }
    }

    // MARK: - Compiling

    /// Turns the tree into a program. Repetition is expanded (`x{2,4}` is
    /// `xx` then two optional `x`), so both the instruction count and the
    /// compiler's own work (a repeated empty group emits nothing) are bounded.
    private struct Compiler {
        var program: [Instruction] = []
        private var work = 0

        mutating func emit(_ instruction: Instruction) throws(Failure) -> Int {
            guard program.count < LinearRegex.maxInstructions else { throw Self.tooLarge }
            program.append(instruction)
            return program.count - 1
        }

        static let tooLarge = Failure(description: "expression too large (more than \(LinearRegex.maxInstructions) instructions once repetitions are expanded)")

        mutating func compile(_ node: RegexNode) throws(Failure) {
            work += 1
            guard work <= LinearRegex.maxInstructions * 10 else { throw Self.tooLarge }
            switch node {
            case .empty:
                break
            case .literal(let scalar, let foldCase):
                _ = try emit(foldCase ? .folded(scalar, lower: RegexCharSet.lower(scalar), upper: RegexCharSet.upper(scalar)) : .scalar(scalar))
            case .anyScalar(let matchesNewline):
                _ = try emit(.anyScalar(matchesNewline: matchesNewline))
            case .set(let index):
                _ = try emit(.set(index))
            case .assertion(let assertion):
                _ = try emit(.assertion(assertion))
            case .concat(let items):
                for item in items { try compile(item) }
            case .alternate(let branches):
                var exits: [Int] = []
                for (index, branch) in branches.enumerated() {
                    guard index < branches.count - 1 else {
                        try compile(branch)
                        break
                    }
                    let split = try emit(.split(0, 0))
                    try compile(branch)
                    exits.append(try emit(.jump(0)))
                    program[split] = .split(split + 1, program.count)
                }
                for exit in exits { program[exit] = .jump(program.count) }
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { try compile(inner) }
                if let max {
                    var splits: [Int] = []
                    for _ in min..<Swift.max(min, max) {
                        splits.append(try emit(.split(0, 0)))
                        try compile(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    let split = try emit(.split(0, 0))
                    try compile(inner)
                    _ = try emit(.jump(split))
                    program[split] = .split(split + 1, program.count)
                }
            }
        }
    }
}
