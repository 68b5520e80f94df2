import JSON
import Testing

@Suite struct JSONValueTests {
    let service: JSONValue = [
        "ID": "web-1", "Port": 8080, "Weight": 1.5, "Big": 1e300, "Enabled": true,
        "Tags": ["a"], "Meta": ["k": "v"], "Nothing": nil, "service_name": "web",
    ]

    @Test func accessors_returnValueOnlyForMatchingCase() {
        #expect(service["ID"]?.stringValue == "web-1")
        #expect(service["Port"]?.intValue == 8080)
        #expect(service["Port"]?.doubleValue == 8080)
        #expect(service["Weight"]?.intValue == nil)
        #expect(service["Weight"]?.doubleValue == 1.5)
        #expect(service["Big"]?.intValue == nil)
        #expect(service["Enabled"]?.boolValue == true)
        #expect(service["Tags"]?.arrayValue == ["a"])
        #expect(service["Meta"]?.objectValue?.first?.0 == "k")
        #expect(service["Nothing"]?.isNull == true)
        #expect(service["Missing"] == nil)
        #expect(service["ID"]?.intValue == nil)
        #expect(service["Port"]?.stringValue == nil)
        #expect(service["Tags"]?[0] == "a")
        #expect(service["Tags"]?[1] == nil)
        #expect(service["Tags"]?[-1] == nil)
        #expect(service[0] == nil)
        #expect(JSONValue.string("x")["key"] == nil)
    }

    @Test func keyLookup_ignoringCase_prefersExactMatch() {
        let value: JSONValue = ["name": 1, "Name": 2, "PORT": 3]
        #expect(value.value(forKeyIgnoringCase: "Name") == 2)
        #expect(value.value(forKeyIgnoringCase: "port") == 3)
        #expect(value.value(forKeyIgnoringCase: "Port") == 3)
        #expect(value.value(forKeyIgnoringCase: "por") == nil)
        #expect(value.value(forKeyIgnoringCase: "portx") == nil)
        #expect(JSONValue.null.value(forKeyIgnoringCase: "a") == nil)
    }

    @Test func keyLookup_ignoringUnderscores_matchesSnakeAndCamelCase() {
        #expect(service.value(forKeyIgnoringCaseAndUnderscores: "ServiceName") == "web")
        #expect(service.value(forKeyIgnoringCaseAndUnderscores: "i_d") == "web-1")
        #expect(service.value(forKeyIgnoringCase: "ServiceName") == nil)
        #expect(service.value(forKeyIgnoringCaseAndUnderscores: "Service") == nil)
    }

    @Test func equality_isStructuralAndOrderSensitiveForObjects() {
        #expect(JSONValue.object([("a", 1), ("b", 2)]) == ["a": 1, "b": 2])
        #expect(JSONValue.object([("a", 1), ("b", 2)]) != ["b": 2, "a": 1])
        #expect(JSONValue.object([("a", 1)]) != ["a": 1, "b": 2])
        #expect(JSONValue.number(1) != .string("1"))
        #expect(JSONValue.array([1, [2]]) == [1, [2]])
        #expect(JSONValue.array([1, [2]]) != [1, [3]])
    }

    @Test func intValue_acceptsOnlyExactIntegersInRange() {
        #expect(JSONValue.number(-5).intValue == -5)
        #expect(JSONValue.number(0.5).intValue == nil)
        #expect(JSONValue.number(9.3e18).intValue == nil)
        #expect(JSONValue.number(4_611_686_018_427_387_904).intValue == 4_611_686_018_427_387_904)
    }
}
