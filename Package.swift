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
        // Pure value types (endpoints, instants, byte codecs, the seeded
        // generator, logging): what the protocol cores need, without sockets.
        .target(name: "Primitives", swiftSettings: strict),
        .target(name: "Sockets", dependencies: ["CSystem", "Primitives"], swiftSettings: strict),
        .target(name: "JSON", swiftSettings: strict),
        // Consul's filter expressions (go-bexpr's language) over JSON values.
        .target(name: "Filter", dependencies: ["JSON"], swiftSettings: strict),
        // The protocol cores: deterministic state machines over Primitives
        // (SWIM membership; the catalog's data model and replication).
        .target(name: "MembershipCore", dependencies: ["Primitives"], swiftSettings: strict),
        .target(name: "CatalogCore", dependencies: ["Primitives", "MembershipCore"], swiftSettings: strict),
        // Raft among the servers of a datacenter (the KV store's log).
        .target(name: "RaftCore", dependencies: ["Primitives"], swiftSettings: strict),
        // Consul's KV store and sessions: the state machine the Raft log drives.
        .target(name: "KVCore", dependencies: ["Primitives"], swiftSettings: strict),
        // Their shells: sockets, timers, disk.
        .target(name: "Membership", dependencies: ["MembershipCore", "Sockets", "Crypto"], swiftSettings: strict),
        // The cores on a virtual network: no socket layer at all.
        .target(name: "Simulation", dependencies: ["MembershipCore", "CatalogCore", "RaftCore", "Primitives"], swiftSettings: strict),
        .executableTarget(name: "fedagent-sim", dependencies: ["Simulation", "MembershipCore", "Primitives"], swiftSettings: strict),
        .target(name: "Agent", dependencies: ["CatalogCore", "RaftCore", "Membership", "Sockets", "JSON", "Crypto", "CSystem", "Filter"], swiftSettings: strict),
        .target(name: "HTTPAPI", dependencies: ["Agent", "Membership", "Sockets", "JSON", "Crypto", "Filter"], swiftSettings: strict),
        .target(name: "DNSServer", dependencies: ["Agent", "Membership", "Sockets", "CSystem"], swiftSettings: strict),
        .executableTarget(name: "fedagent", dependencies: ["Agent", "HTTPAPI", "DNSServer", "Membership", "Sockets", "JSON", "Crypto", "CSystem"], swiftSettings: strict),
        .target(name: "TestSupport", dependencies: ["Sockets"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(name: "FilterTests", dependencies: ["Filter", "JSON", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "CatalogCore", "RaftCore", "Sockets", "JSON", "Membership", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MembershipTests", dependencies: ["Membership", "MembershipCore", "CatalogCore", "Sockets", "Simulation", "Crypto", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HTTPAPITests", dependencies: ["HTTPAPI", "JSON", "Sockets", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "Agent", "Sockets", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["JSON", "Sockets", "HTTPAPI", "Agent", "Crypto", "TestSupport", "Primitives"], exclude: ["python"], swiftSettings: strict),
        .testTarget(name: "KVTests", dependencies: ["KVCore", "Primitives"], swiftSettings: strict),
        .testTarget(name: "RaftTests", dependencies: ["RaftCore", "Simulation", "Primitives"], swiftSettings: strict),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto", "TestSupport", "Primitives"], swiftSettings: strict),
        .testTarget(name: "SocketsTests", dependencies: ["Sockets", "Crypto", "TestSupport", "Primitives"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
