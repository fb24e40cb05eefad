#if canImport(Glibc)
import Glibc
#endif

/// The libFuzzer entry point. One binary holds every target; `EDGEAUTH_FUZZ_TARGET` names
/// the one a run drives (`make fuzz` runs each in turn, Fuzz/README.md).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    do {
        try selected.run(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        writeError("property violated: \(error)\n")
        abort()
    }
    return 0
}

/// libFuzzer's driver: `main` calls it, since the package manager names the executable's
/// entry point `<module>_main` for the linker rather than using libFuzzer's own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("EdgeAuthFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzOneInput)
}

/// The target `EDGEAUTH_FUZZ_TARGET` names; the list of names when it names none.
let selected: FuzzTarget = {
    let name = getenv("EDGEAUTH_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    if let target = FuzzTarget.all.first(where: { $0.name == name }) { return target }
    writeError("EDGEAUTH_FUZZ_TARGET must name a target: \(FuzzTarget.all.map(\.name).joined(separator: " "))\n")
    exit(2)
}()

func writeError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
