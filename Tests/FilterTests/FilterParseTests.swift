import Filter
import Testing

@Suite struct FilterParseTests {
    @Test func emptyExpression_isRefused() {
        #expect(throws: FilterExpression.Failure.self) { try FilterExpression.parse("") }
    }
}
