/// Conversions between the JWS (IEEE P1363, raw r‖s) and DER forms of ECDSA signatures.
enum ECDSASignature {
    /// 0 < value < order, both big-endian of equal length.
    static func isInRange(_ value: UnsafeRawBufferPointer, order: UnsafeRawBufferPointer) -> Bool {
        var nonZero = false
        for unsafe byte in unsafe value where byte != 0 {
            nonZero = true
            break
        }
        guard nonZero else { return false }
        for i in 0..<value.count {
            if unsafe value[i] < order[i] { return true }
            if unsafe value[i] > order[i] { return false }
        }
        return false  // equal to the order
    }

    /// Writes `SEQUENCE { INTEGER r, INTEGER s }` into `out`; returns its length.
    static func der(r: UnsafeRawBufferPointer, s: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        func integerLength(_ v: UnsafeRawBufferPointer) -> (skip: Int, pad: Bool, length: Int) {
            var skip = 0
            while skip < v.count - 1, unsafe v[skip] == 0 { skip += 1 }
            let pad = unsafe v[skip] & 0x80 != 0
            return (skip, pad, v.count - skip + (pad ? 1 : 0))
        }
        let ri = unsafe integerLength(r), si = unsafe integerLength(s)
        let content = 2 + ri.length + 2 + si.length
        var o = 0
        unsafe out[o] = 0x30
        o += 1
        if content > 127 {
            unsafe out[o] = 0x81
            unsafe out[o + 1] = UInt8(content)
            o += 2
        } else {
            unsafe out[o] = UInt8(content)
            o += 1
        }
        func writeInteger(_ v: UnsafeRawBufferPointer, _ info: (skip: Int, pad: Bool, length: Int)) {
            unsafe out[o] = 0x02
            unsafe out[o + 1] = UInt8(info.length)
            o += 2
            if info.pad {
                unsafe out[o] = 0
                o += 1
            }
            for i in info.skip..<v.count {
                unsafe out[o] = unsafe v[i]
                o += 1
            }
        }
        unsafe writeInteger(r, ri)
        unsafe writeInteger(s, si)
        return o
    }
}
