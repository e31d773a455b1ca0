import MyelinCore

/// The summary `InsightsLog` records of one tensor: moments, extremes, norm and an equal-width
/// histogram of its finite values, read straight from its float32 or float64 buffer.
///
/// Two passes, each a plain loop over the buffer with no call per element (specialised for
/// `Float` and `Double`, unrolled into four lanes): the first sums values and squares (in `Double`)
/// and finds the extremes, assuming every value finite; the second, once the range and the mean
/// are known, bins the values and sums squared deviations from the mean (the two-pass variance,
/// exact where `E[x²] - E[x]²` would cancel). If the first pass's sums come out non-finite (a NaN
/// or an infinity in the data, or squares that overflow `Double`), it runs again checking each
/// value, as the second pass then does, and the non-finite values are counted and left out.
struct ValueSummary: Equatable {
    /// Values counted: the finite ones.
    var finite = 0
    /// NaNs and infinities, left out of everything else.
    var nonfinite = 0
    /// Exact zeros among the finite values.
    var zeros = 0
    var mean = Double.nan
    /// The population standard deviation (divides by n, as NumPy's default).
    var std = Double.nan
    var min = Double.nan
    var max = Double.nan
    /// The 2-norm, √Σx².
    var norm = Double.nan
    /// `counts[i]` values in `[min + i·w, min + (i+1)·w)`, `w = (max - min) / bins`, the last bin
    /// closed; all in the first bin when `min == max`.
    var counts: [Int]

    /// The summary of a tensor's elements; float32 and float64 are read in place (a contiguous
    /// copy first if the tensor is a strided view), other dtypes through a float64 copy.
    static func of(_ t: Tensor, bins: Int) -> ValueSummary {
        switch t.dtype {
        case .float32: return t.withUnsafeBufferPointer(as: Float.self) { of($0, bins: bins) }
        case .float64: return t.withUnsafeBufferPointer(as: Double.self) { of($0, bins: bins) }
        default: return of(t.to(.float64), bins: bins)
        }
    }

    /// The summaries of several tensors, computed on Myelin's worker threads (see `inParallel`).
    static func of(_ tensors: [Tensor], bins: Int) -> [ValueSummary] {
        var out = [ValueSummary](repeating: ValueSummary(counts: []), count: tensors.count)
        out.withUnsafeMutableBufferPointer { slots in
            inParallel(sizes: tensors.map(\.count)) { slots[$0] = of(tensors[$0], bins: bins) }
        }
        return out
    }

    /// Calls `body(i)` for every index of `sizes` (the work each takes), at once on the worker
    /// threads of `Threading.parallelFor` when the total is worth a thread hop: the largest first,
    /// dealt in turn to one list per thread, so the threads get like shares. Each call runs on one
    /// thread, so its result does not depend on the thread count; `body` must write only what
    /// belongs to `i`.
    static func inParallel(sizes: [Int], _ body: (Int) -> Void) {
        let lists = Swift.min(Threading.count, sizes.count)
        guard lists > 1, sizes.reduce(0, +) >= Threading.elementwiseGrain else {
            for i in sizes.indices { body(i) }
            return
        }
        let order = sizes.indices.sorted { sizes[$0] > sizes[$1] }
        Threading.parallelFor(lists, grain: 1) { lo, hi in
            for list in lo..<hi {
                for k in stride(from: list, to: order.count, by: lists) { body(order[k]) }
            }
        }
    }

    static func of(_ p: UnsafeBufferPointer<Float>, bins: Int) -> ValueSummary { compute(p, bins: bins) }
    static func of(_ p: UnsafeBufferPointer<Double>, bins: Int) -> ValueSummary { compute(p, bins: bins) }

    /// Specialised for `Float` and `Double` through the two `of` above.
    @inline(__always)
    private static func compute<T: BinaryFloatingPoint>(_ p: UnsafeBufferPointer<T>, bins: Int) -> ValueSummary {
        var s = ValueSummary(counts: [Int](repeating: 0, count: bins))
        guard let base = p.baseAddress, !p.isEmpty else { return s }
        let n = p.count
        var first = firstPass(base, n, skipNonFinite: false)
        // Any non-finite value makes the sums non-finite: count again, checking each value.
        let checked = !(first.sum.isFinite && first.squares.isFinite)
        if checked { first = firstPass(base, n, skipNonFinite: true) }
        s.nonfinite = first.nonfinite
        s.finite = n - first.nonfinite
        s.zeros = first.zeros
        guard s.finite > 0 else { return s }
        let mean = first.sum / Double(s.finite)
        s.mean = mean
        s.min = first.lo
        s.max = first.hi
        s.norm = first.squares.squareRoot()
        let deviations = s.counts.withUnsafeMutableBufferPointer { counts in
            secondPass(base, n, skipNonFinite: checked, mean: mean, lo: first.lo, hi: first.hi, counts: counts)
        }
        s.std = (deviations / Double(s.finite)).squareRoot()
        return s
    }

    /// Sum, sum of squares, extremes and zeros, in four interleaved lanes (four independent chains
    /// of additions, so the loop runs at the processor's throughput rather than an addition's
    /// latency). Without `skipNonFinite`, NaNs and infinities go into the sums unnoticed.
    @inline(__always)
    private static func firstPass<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ n: Int, skipNonFinite: Bool)
        -> (sum: Double, squares: Double, lo: Double, hi: Double, zeros: Int, nonfinite: Int) {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0
        var lo0 = Double.infinity, lo1 = lo0, lo2 = lo0, lo3 = lo0
        var hi0 = -Double.infinity, hi1 = hi0, hi2 = hi0, hi3 = hi0
        var zeros = 0, bad = 0
        var i = 0
        if !skipNonFinite {
            while i + 4 <= n {
                let a = Double(x[i]), b = Double(x[i + 1]), c = Double(x[i + 2]), d = Double(x[i + 3])
                s0 += a; s1 += b; s2 += c; s3 += d
                q0 += a * a; q1 += b * b; q2 += c * c; q3 += d * d
                lo0 = a < lo0 ? a : lo0; lo1 = b < lo1 ? b : lo1; lo2 = c < lo2 ? c : lo2; lo3 = d < lo3 ? d : lo3
                hi0 = a > hi0 ? a : hi0; hi1 = b > hi1 ? b : hi1; hi2 = c > hi2 ? c : hi2; hi3 = d > hi3 ? d : hi3
                zeros &+= isZero(a) &+ isZero(b) &+ isZero(c) &+ isZero(d)
                i += 4
            }
        }
        while i < n {
            let a = Double(x[i])
            i += 1
            if skipNonFinite && !a.isFinite { bad &+= 1; continue }
            s0 += a
            q0 += a * a
            lo0 = a < lo0 ? a : lo0
            hi0 = a > hi0 ? a : hi0
            zeros &+= isZero(a)
        }
        return ((s0 + s1) + (s2 + s3), (q0 + q1) + (q2 + q3), Swift.min(Swift.min(lo0, lo1), Swift.min(lo2, lo3)),
                Swift.max(Swift.max(hi0, hi1), Swift.max(hi2, hi3)), zeros, bad)
    }

    /// 1 for +0 and -0, else 0, by the bits (a comparison that compiles to no branch).
    @inline(__always)
    private static func isZero(_ v: Double) -> Int { v.bitPattern &<< 1 == 0 ? 1 : 0 }

    /// The bin of `v`: ⌊(v - lo)·scale⌋, at most `last`. Without a branch or a checked conversion,
    /// so that a loop of it is vectorised: `t` is clamped to `last` (a NaN too, as the comparison
    /// fails), `t + 2⁵²` holds round(t) in its low bits, and one comparison turns it into ⌊t⌋.
    /// `t` is never negative, as no value is below `lo`.
    @inline(__always)
    static func bin(_ v: Double, lo: Double, scale: Double, last: Double) -> Int32 {
        let t0 = (v - lo) * scale
        let t = t0 < last ? t0 : last
        let r = t + 4_503_599_627_370_496.0
        let k = Int32(truncatingIfNeeded: r.bitPattern & 0xF_FFFF_FFFF_FFFF)
        return r - 4_503_599_627_370_496.0 > t ? k &- 1 : k
    }

    /// `bin` in float32 arithmetic, for float32 values: four to a vector instruction rather than
    /// two. (Bins then differ from float64 ones only for values within a float32 rounding of an edge.)
    @inline(__always)
    static func bin(_ v: Float, lo: Float, scale: Float, last: Float) -> Int32 {
        let t0 = (v - lo) * scale
        let t = t0 < last ? t0 : last
        let r = t + 8_388_608
        let k = Int32(bitPattern: r.bitPattern & 0x7F_FFFF)
        return r - 8_388_608 > t ? k &- 1 : k
    }

    /// The squared deviations from `mean`, summed, and the histogram counts added to `counts`.
    /// By chunks: the chunk's bins first (a loop the compiler vectorises), then the counts, in
    /// four lanes each with its own counters, and the deviations, in four chains of additions.
    @inline(__always)
    private static func secondPass<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ n: Int, skipNonFinite: Bool,
                                                           mean: Double, lo: Double, hi: Double,
                                                           counts: UnsafeMutableBufferPointer<Int>) -> Double {
        let bins = counts.count
        let scale = hi > lo ? Double(bins) / (hi - lo) : 0
        let last = Double(bins - 1)
        // Float32 values are binned in float32 unless the scale does not fit one.
        let inFloat = T.self == Float.self && Float(scale).isFinite
        let loF = Float(lo), scaleF = Float(scale), lastF = Float(last)
        let chunk = 512
        let index = UnsafeMutablePointer<Int32>.allocate(capacity: chunk)
        let lanes = UnsafeMutablePointer<Int>.allocate(capacity: 4 * bins)
        lanes.initialize(repeating: 0, count: 4 * bins)
        defer {
            index.deallocate()
            lanes.deallocate()
        }
        let c0 = lanes, c1 = c0 + bins, c2 = c1 + bins, c3 = c2 + bins
        var d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0
        var start = 0
        while start < n {
            let m = Swift.min(chunk, n - start)
            let p = x + start
            if inFloat {
                let f = UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
                for j in 0..<m { index[j] = bin(f[j], lo: loF, scale: scaleF, last: lastF) }
            } else {
                for j in 0..<m { index[j] = bin(Double(p[j]), lo: lo, scale: scale, last: last) }
            }
            var j = 0
            if skipNonFinite {
                // NaNs and infinities got a bin too (the last, or the first): leave them out.
                while j < m {
                    let v = Double(p[j])
                    if v.isFinite {
                        d0 += (v - mean) * (v - mean)
                        c0[Int(index[j])] &+= 1
                    }
                    j += 1
                }
            } else {
                while j + 4 <= m {
                    let ea = Double(p[j]) - mean, eb = Double(p[j + 1]) - mean
                    let ec = Double(p[j + 2]) - mean, ed = Double(p[j + 3]) - mean
                    d0 += ea * ea; d1 += eb * eb; d2 += ec * ec; d3 += ed * ed
                    c0[Int(index[j])] &+= 1; c1[Int(index[j + 1])] &+= 1; c2[Int(index[j + 2])] &+= 1; c3[Int(index[j + 3])] &+= 1
                    j += 4
                }
                while j < m {
                    let e = Double(p[j]) - mean
                    d0 += e * e
                    c0[Int(index[j])] &+= 1
                    j += 1
                }
            }
            start += m
        }
        for b in 0..<bins { counts[b] &+= c0[b] &+ c1[b] &+ c2[b] &+ c3[b] }
        return (d0 + d1) + (d2 + d3)
    }

    /// `‖after - before‖` for two buffers of one size, summed in `Double` in one pass, in four
    /// chains of additions (NaN when either holds a NaN).
    static func changeNorm(before: UnsafeBufferPointer<Float>, after: UnsafeBufferPointer<Float>) -> Double {
        change(before, after)
    }

    static func changeNorm(before: UnsafeBufferPointer<Double>, after: UnsafeBufferPointer<Double>) -> Double {
        change(before, after)
    }

    @inline(__always)
    private static func change<T: BinaryFloatingPoint>(_ before: UnsafeBufferPointer<T>, _ after: UnsafeBufferPointer<T>) -> Double {
        require(before.count == after.count, "[insights] change between \(before.count) and \(after.count) values")
        guard let b = before.baseAddress, let a = after.baseAddress else { return 0 }
        let n = before.count
        var c0 = 0.0, c1 = 0.0, c2 = 0.0, c3 = 0.0
        var i = 0
        while i + 4 <= n {
            let d0 = Double(a[i]) - Double(b[i]), d1 = Double(a[i + 1]) - Double(b[i + 1])
            let d2 = Double(a[i + 2]) - Double(b[i + 2]), d3 = Double(a[i + 3]) - Double(b[i + 3])
            c0 += d0 * d0; c1 += d1 * d1; c2 += d2 * d2; c3 += d3 * d3
            i += 4
        }
        while i < n {
            let d = Double(a[i]) - Double(b[i])
            c0 += d * d
            i += 1
        }
        return ((c0 + c1) + (c2 + c3)).squareRoot()
    }
}

/// A copy of a parameter's values taken before the optimiser step, for its update ratio.
enum WeightSnapshot {
    case float([Float]), double([Double]), none

    init(_ t: Tensor) {
        switch t.dtype {
        case .float32: self = .float(t.withUnsafeBufferPointer(as: Float.self) { Array($0) })
        case .float64: self = .double(t.withUnsafeBufferPointer(as: Double.self) { Array($0) })
        default: self = .none
        }
    }

    /// `‖t - self‖`, or NaN when the dtypes or sizes differ.
    func changeNorm(to t: Tensor) -> Double {
        switch (self, t.dtype) {
        case (.float(let before), .float32) where before.count == t.count:
            return before.withUnsafeBufferPointer { b in
                t.withUnsafeBufferPointer(as: Float.self) { ValueSummary.changeNorm(before: b, after: $0) }
            }
        case (.double(let before), .float64) where before.count == t.count:
            return before.withUnsafeBufferPointer { b in
                t.withUnsafeBufferPointer(as: Double.self) { ValueSummary.changeNorm(before: b, after: $0) }
            }
        default:
            return .nan
        }
    }
}

extension InsightsLog.Stats {
    /// The recorded form of a summary: non-finite numbers (no finite values at all) as nil.
    init(_ s: ValueSummary) {
        self.init(mean: finiteOrNil(s.mean), std: finiteOrNil(s.std), min: finiteOrNil(s.min), max: finiteOrNil(s.max),
                  norm: finiteOrNil(s.norm), lo: finiteOrNil(s.min), hi: finiteOrNil(s.max), counts: s.counts,
                  nonfinite: s.nonfinite > 0 ? s.nonfinite : nil)
    }

    /// Writes the JSON object, keys in the documented order.
    func write(to out: inout JSONLineWriter) {
        out.raw("{\"mean\":"); out.number(mean); out.raw(",\"std\":"); out.number(std)
        out.raw(",\"min\":"); out.number(min); out.raw(",\"max\":"); out.number(max)
        out.raw(",\"norm\":"); out.number(norm); out.raw(",\"lo\":"); out.number(lo); out.raw(",\"hi\":"); out.number(hi)
        out.raw(",\"counts\":"); out.ints(counts)
        if let nonfinite { out.raw(",\"nonfinite\":"); out.int(nonfinite) }
        out.raw("}")
    }
}

extension InsightsLog.Activation {
    init(name: String, _ s: ValueSummary) {
        self.init(name: name, mean: finiteOrNil(s.mean), std: finiteOrNil(s.std), min: finiteOrNil(s.min),
                  max: finiteOrNil(s.max), zeroShare: s.finite > 0 ? Double(s.zeros) / Double(s.finite) : nil,
                  lo: finiteOrNil(s.min), hi: finiteOrNil(s.max), counts: s.counts,
                  nonfinite: s.nonfinite > 0 ? s.nonfinite : nil)
    }

    func write(to out: inout JSONLineWriter) {
        out.raw("{\"name\":"); out.string(name); out.raw(",\"mean\":"); out.number(mean)
        out.raw(",\"std\":"); out.number(std); out.raw(",\"min\":"); out.number(min); out.raw(",\"max\":"); out.number(max)
        out.raw(",\"zero_share\":"); out.number(zeroShare); out.raw(",\"lo\":"); out.number(lo); out.raw(",\"hi\":"); out.number(hi)
        out.raw(",\"counts\":"); out.ints(counts)
        if let nonfinite { out.raw(",\"nonfinite\":"); out.int(nonfinite) }
        out.raw("}")
    }
}

extension InsightsLog.Param {
    func write(to out: inout JSONLineWriter) {
        out.raw("{\"name\":"); out.string(name); out.raw(",\"module\":"); out.string(module)
        out.raw(",\"shape\":"); out.ints(shape); out.raw(",\"weight\":"); weight.write(to: &out)
        out.raw(",\"grad\":")
        if let grad { grad.write(to: &out) } else { out.raw("null") }
        out.raw(",\"update_ratio\":"); out.number(updateRatio); out.raw("}")
    }
}

extension InsightsLog.Entry {
    /// Writes the entry as one line of the log, newline included.
    func write(to out: inout JSONLineWriter) {
        out.raw("{\"step\":"); out.int(step); out.raw(",\"epoch\":"); out.int(epoch); out.raw(",\"batch\":"); out.int(batch)
        out.raw(",\"params\":[")
        for (i, p) in params.enumerated() {
            if i > 0 { out.raw(",") }
            p.write(to: &out)
        }
        out.raw("],\"activations\":[")
        for (i, a) in activations.enumerated() {
            if i > 0 { out.raw(",") }
            a.write(to: &out)
        }
        out.raw("]}\n")
    }

    /// The entry as one line of the log, without the newline.
    var jsonLine: String {
        var out = JSONLineWriter()
        write(to: &out)
        return String(decoding: out.bytes.dropLast(), as: UTF8.self)
    }
}

/// Appends JSON text to a byte buffer: numbers through `JSONText` (non-finite and nil as null),
/// strings through `JSONText.quote`, integers digit by digit (a line holds hundreds of counts).
struct JSONLineWriter {
    var bytes: [UInt8] = []

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) { bytes.append(contentsOf: JSONText.quote(s).utf8) }

    mutating func number(_ v: Double?) {
        if let v { bytes.append(contentsOf: JSONText.number(v).utf8) } else { raw("null") }
    }

    mutating func int(_ v: Int) {
        if v < 0 { bytes.append(0x2D) }
        var x = v.magnitude, digits = 1
        while x >= 10 { x /= 10; digits += 1 }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(0x30, count: digits))
        x = v.magnitude
        for i in stride(from: end - 1, through: end - digits, by: -1) {
            bytes[i] = 0x30 &+ UInt8(truncatingIfNeeded: x % 10)
            x /= 10
        }
    }

    mutating func ints(_ xs: [Int]) {
        bytes.append(0x5B)
        for (i, x) in xs.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            int(x)
        }
        bytes.append(0x5D)
    }
}

private func finiteOrNil(_ v: Double) -> Double? { v.isFinite ? v : nil }
