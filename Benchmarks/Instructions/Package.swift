// swift-tools-version: 6.1
import PackageDescription

// Programs valgrind can run, for exact instruction counts where wall-clock time on a
// virtual machine drifts: the parser alone per token (instructions.sh, `make
// bench-instructions`), and the server's handling of one request without the sockets
// (requests.sh). Its own package, so that the benchmark harness does not take these for
// benchmarks.
let package = Package(
    name: "EdgeAuthInstructions",
    dependencies: [
        .package(name: "EdgeAuth", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "ParseInstructions",
            dependencies: [.product(name: "EdgeAuthCore", package: "EdgeAuth")]
        ),
        .executableTarget(
            name: "VerifyInstructions",
            dependencies: [.product(name: "EdgeAuth", package: "EdgeAuth")]
        ),
        .executableTarget(
            name: "RequestInstructions",
            dependencies: [
                .product(name: "EdgeAuthMCP", package: "EdgeAuth"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ]
)
