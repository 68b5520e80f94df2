// Cluster-level waits over every observer's member list, and the parsed
// `fedagent members` table.

import Testing

extension Harness {
    /// Waits until, in one polling round, every observer's member list
    /// (name -> status) satisfies `condition`. Fails early if an agent that
    /// should be running has exited.
    func waitForViews(
        _ what: String, observers: [TestAgent], running: [TestAgent]? = nil, timeout: Double = 60,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: ([String: Int]) -> Bool
    ) throws {
        try eventually(what, timeout: timeout, sourceLocation: sourceLocation) {
            try requireRunning(running ?? observers, sourceLocation: sourceLocation)
            var allOK = true
            var detail: [String] = []
            for observer in observers {
                do {
                    let members = try members(of: observer)
                    let view = Dictionary(members.map { ($0.name, $0.status) }, uniquingKeysWith: { _, last in last })
                    let ok = condition(view)
                    allOK = allOK && ok
                    detail.append("  \(observer.name) \(ok ? "ok" : "NOT YET"): \(members)")
                } catch {
                    allOK = false
                    detail.append("  \(observer.name) ERROR: \(error)")
                }
            }
            return (allOK, detail.joined(separator: "\n"))
        }
    }

    /// Every observer lists exactly `expected` (name -> status).
    func waitForExactViews(_ what: String, observers: [TestAgent], expected: [String: Int],
                           timeout: Double = 60, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try waitForViews(what, observers: observers, timeout: timeout, sourceLocation: sourceLocation) { $0 == expected }
    }
}

/// The output of `fedagent members` split into whitespace-separated columns.
struct MembersTable {
    static let header = ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"]

    let header: [String]
    /// Node name -> that row's columns.
    let rows: [String: [String]]
    let rowCount: Int

    init(_ output: String) {
        let lines = output.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
            .filter { !$0.isEmpty }
        header = lines.first ?? []
        let body = lines.dropFirst()
        rowCount = body.count
        rows = Dictionary(body.compactMap { row in row.first.map { ($0, row) } }, uniquingKeysWith: { first, _ in first })
    }

    /// Name -> status word (the third column).
    var statuses: [String: String] {
        rows.compactMapValues { $0.count > 2 ? $0[2] : nil }
    }
}
