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
        // The system's libssl and libcrypto (Debian's libssl-dev), linked
        // statically (libssl first: it needs libcrypto) so the release
        // binary needs neither at run time.
        .systemLibrary(name: "COpenSSL"),
        .target(name: "Crypto", dependencies: ["COpenSSL", "Sockets"], swiftSettings: strict,
                linkerSettings: [.linkedLibrary(":libssl.a"), .linkedLibrary(":libcrypto.a")]),
        .target(name: "Sockets", dependencies: ["CSystem"], swiftSettings: strict),
        .target(name: "JSON", swiftSettings: strict),
        // Consul's filter expressions (go-bexpr's language) over JSON values.
        .target(name: "Filter", dependencies: ["JSON"], swiftSettings: strict),
        .target(name: "Membership", dependencies: ["Sockets", "Crypto"], swiftSettings: strict),
        .target(name: "Simulation", dependencies: ["Membership", "Sockets"], swiftSettings: strict),
        .executableTarget(name: "fedagent-sim", dependencies: ["Simulation", "Membership", "Sockets"], swiftSettings: strict),
        .target(name: "Agent", dependencies: ["Membership", "Sockets", "JSON", "Crypto", "CSystem", "Filter"], swiftSettings: strict),
        .target(name: "HTTPAPI", dependencies: ["Agent", "Membership", "Sockets", "JSON", "Crypto", "Filter"], swiftSettings: strict),
        .target(name: "DNSServer", dependencies: ["Agent", "Membership", "Sockets", "CSystem"], swiftSettings: strict),
        .executableTarget(name: "fedagent", dependencies: ["Agent", "HTTPAPI", "DNSServer", "Membership", "Sockets", "JSON", "Crypto", "CSystem"], swiftSettings: strict),
        .target(name: "TestSupport", dependencies: ["Sockets"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "FilterTests", dependencies: ["Filter", "JSON", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Sockets", "JSON", "Membership", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MembershipTests", dependencies: ["Membership", "Sockets", "Simulation", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HTTPAPITests", dependencies: ["HTTPAPI", "JSON", "Sockets", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "Agent", "Sockets", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["JSON", "Sockets", "HTTPAPI", "Agent", "Crypto", "TestSupport"], exclude: ["python"], swiftSettings: strict),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SocketsTests", dependencies: ["Sockets", "Crypto", "TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
