// swift-tools-version:6.2
// A standalone MCP server on EdgeAuthMCP (README.md). It depends on the EdgeAuth checkout
// two directories up; in a project of your own, depend on EdgeAuth's repository instead.
import PackageDescription

let package = Package(
    name: "notes-server",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "EdgeAuth", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "NotesServer",
            dependencies: [.product(name: "EdgeAuthMCP", package: "EdgeAuth")]
        ),
    ]
)
