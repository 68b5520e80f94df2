// swift-tools-version:6.0
import PackageDescription

// No package dependencies, ever: the toolchain's own modules only.
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"], .when(configuration: .debug))]

let package = Package(
    name: "fedagent",
    products: [
        .executable(name: "fedagent", targets: ["fedagent"]),
    ],
    targets: [
        .target(name: "CSystem"),
        .target(name: "Sockets", dependencies: ["CSystem"]),
        .target(name: "JSON"),
        .target(name: "Membership", dependencies: ["Sockets"]),
        .target(name: "Simulation", dependencies: ["Membership", "Sockets"]),
        .executableTarget(name: "fedagent-sim", dependencies: ["Simulation", "Membership", "Sockets"]),
        .target(name: "Agent", dependencies: ["Membership", "Sockets", "JSON"]),
        .target(name: "HTTPAPI", dependencies: ["Agent", "Sockets", "JSON"]),
        .target(name: "DNSServer", dependencies: ["Agent", "Membership", "Sockets", "CSystem"]),
        .executableTarget(name: "fedagent", dependencies: ["Agent", "HTTPAPI", "DNSServer", "Membership", "Sockets", "JSON"]),
        .target(name: "TestSupport", dependencies: ["Sockets"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Sockets", "JSON", "Membership", "TestSupport"]),
        .testTarget(name: "MembershipTests", dependencies: ["Membership", "Sockets", "Simulation", "TestSupport"]),
        .testTarget(name: "HTTPAPITests", dependencies: ["HTTPAPI", "JSON", "Sockets", "TestSupport"]),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "Agent", "Sockets", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["JSON", "Sockets", "HTTPAPI"], exclude: ["python"]),
    ],
    swiftLanguageModes: [.v6]
)
