import HTTPAPI
import Testing

@Suite struct URLDecodingTests {
    @Test func percentDecode_decodesEscapesAndKeepsPlusByDefault() {
        #expect(percentDecode("a%20b%2Fc+d") == "a b/c+d")
        #expect(percentDecode("a%20b+c", plusAsSpace: true) == "a b c")
        #expect(percentDecode("%E6%97%A5%e6%9c%ac") == "日本")
        #expect(percentDecode("") == "")
        #expect(percentDecode("%2B", plusAsSpace: true) == "+")
    }

    @Test func percentDecode_invalidEscape_isNil() {
        #expect(percentDecode("%") == nil)
        #expect(percentDecode("a%2") == nil)
        #expect(percentDecode("%zz") == nil)
        #expect(percentDecode("%G0") == nil)
    }

    @Test func percentDecode_invalidUTF8_becomesReplacementCharacter() {
        #expect(percentDecode("a%FFb") == "a\u{FFFD}b")
    }

    @Test func query_followsGoParseQuery() {
        let query = HTTPQuery(parsing: "passing&tag=a&tag=b+c&&x=%41%3D&=v&k=&bad=%zz&semi=1;2&near=_agent")
        #expect(query.items.map(\.name) == ["passing", "tag", "tag", "x", "", "k", "near"])
        #expect(query["passing"] == "")
        #expect(query.contains("passing"))
        #expect(!query.contains("bad"))
        #expect(!query.contains("semi"))
        #expect(query["tag"] == "a")
        #expect(query.values("tag") == ["a", "b c"])
        #expect(query["x"] == "A=")
        #expect(query[""] == "v")
        #expect(query["k"] == "")
        #expect(query["Tag"] == nil)
        #expect(query.values("missing").isEmpty)
    }

    @Test func query_emptyAndLiteral() {
        #expect(HTTPQuery(parsing: "").isEmpty)
        #expect(HTTPQuery(parsing: "&&&").isEmpty)
        let literal: HTTPQuery = ["dc": "dc1", "index": "5"]
        #expect(literal == HTTPQuery(parsing: "dc=dc1&index=5"))
        #expect(literal != HTTPQuery(parsing: "index=5&dc=dc1"))
    }

    @Test func headers_caseInsensitiveLookupAndEditing() {
        var headers: HTTPHeaders = ["Content-Type": "application/json", "X-A": "1", "x-a": "2"]
        #expect(headers["content-type"] == "application/json")
        #expect(headers["X-A"] == "1")
        #expect(headers.values("X-a") == ["1", "2"])
        headers.set("X-A", "3")
        #expect(headers.values("x-a") == ["3"])
        #expect(headers.fields.map(\.name) == ["Content-Type", "X-A"])
        headers.add("Connection", "keep-alive, Upgrade")
        #expect(headers.containsToken("upgrade", in: "connection"))
        #expect(!headers.containsToken("close", in: "connection"))
        headers.remove("CONTENT-TYPE")
        #expect(!headers.contains("Content-Type"))
        headers.set("New", "v")
        #expect(headers.fields.last?.name == "New")
        #expect(headers.count == 3)
    }
}
