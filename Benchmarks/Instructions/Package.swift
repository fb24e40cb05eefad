// swift-tools-version: 6.1
import PackageDescription

// The parser alone in a process valgrind can run: exact instruction counts per token
// (instructions.sh, `make bench-instructions`), where wall-clock time on a virtual
// machine drifts. Its own package, so that the benchmark harness does not take it for
// a benchmark, and so that it builds nothing but EdgeAuthCore.
let package = Package(
    name: "EdgeAuthInstructions",
    dependencies: [.package(name: "EdgeAuth", path: "../..")],
    targets: [
        .executableTarget(
            name: "ParseInstructions",
            dependencies: [.product(name: "EdgeAuthCore", package: "EdgeAuth")]
        ),
    ]
)
