@testable import HTTPAPI
import JSON
import Membership
import Testing

/// Consul's coordinate JSON both ways (`/v1/coordinate/*`), without an agent.
@Suite struct CoordinateJSONTests {
    static func parse(_ text: String) -> Result<Vivaldi.Coordinate, ConsulAPI.CoordinateDecodeError> {
        ConsulAPI.parseCoordinate(try? JSONValue.parse(Array(text.utf8)))
    }

    @Test func serfsShapeParses() throws {
        let c = try Self.parse(#"{"Vec":[0.001,0,0,0,0,0,0,-0.002],"Error":0.2,"Adjustment":-0.0001,"Height":0.00001}"#).get()
        #expect(c.vector == [0.001, 0, 0, 0, 0, 0, 0, -0.002])
        #expect(c.error == 0.2 && c.adjustment == -0.0001 && c.height == 0.00001)
    }

    @Test func wrongShapesAreDecodeErrors() {
        for bad in [#""x""#, #"{"Error":1}"#, #"{"Vec":"no"}"#, #"{"Vec":[1,"a"]}"#, #"{"Vec":[1],"Height":"h"}"#] {
            guard case .failure(let why) = Self.parse(bad) else {
                Issue.record("\(bad) parsed")
                continue
            }
            #expect(!why.description.isEmpty)
        }
        if case .success = ConsulAPI.parseCoordinate(nil) { Issue.record("a missing Coord parsed") }
    }

    @Test func entriesAreWrittenInConsulsShape() throws {
        let c = Vivaldi.Coordinate(vector: [0.5, 0, 0, 0, 0, 0, 0, 0], error: 1.5, adjustment: 0, height: 0.25)
        var w = JSONWriter()
        ConsulAPI.writeCoordinateEntries([("n1", c)], &w)
        let json = try JSONValue.parse(w.bytes)
        let entry = try #require(json[0])
        #expect(entry.objectValue?.map(\.0) == ["Node", "Segment", "Coord"])
        #expect(entry["Node"] == "n1" && entry["Segment"] == "")
        #expect(entry["Coord"]?.objectValue?.map(\.0) == ["Vec", "Error", "Adjustment", "Height"])
        #expect(entry["Coord"]?["Vec"]?.arrayValue?.count == 8)
        #expect(try ConsulAPI.parseCoordinate(entry["Coord"]).get() == c, "what we write, we read")
    }
}
