/// A float32 weight `[out, in]` packed once into the matrix kernel's panels, for many products
/// without gradients: packing a Linear layer's weight cost a third of batch-1 transformer
/// inference (all-MiniLM-L6-v2, about 20 rows a product) when done at every call.
///
/// Products give the bits of `linear(weight:bias:)` where that takes the packed kernel too
/// (`PackedSgemm.preferred`), and agree within float32 rounding where BLAS runs it. The pack is a copy: the caller keeps it
/// only while the weight's values stay the same (`Linear.packsWeightForInference` does).
///
/// ```swift
/// let packed = PackedLinearWeight(layer.weight.value)!
/// let y = withoutGrad { x.linear(packed: packed, bias: layer.bias?.value) }   // nil when the product is too small
/// ```
public final class PackedLinearWeight: @unchecked Sendable {
    let packed: PackedSgemm.PackedB
    public let outFeatures: Int, inFeatures: Int

    /// Packs `weight` (float32, `[out, in]`, any strides BLAS reads); nil when this CPU has no
    /// packed kernel or the weight is another dtype or layout.
    public init?(_ weight: Tensor) {
        guard weight.dtype == .float32, weight.rank == 2, PackedSgemm.available else { return nil }
        let w = weight.detached()
        let (n, k) = (w.shape[0], w.shape[1])
        guard n > 0, k > 0, let op = BLASOperand(rows: k, cols: n, rowStride: w.strides[1], colStride: w.strides[0]),
              let p = PackedSgemm.PackedB(UnsafePointer(w.basePointer(Float.self)), op, k: k, n: n) else { return nil }
        withExtendedLifetime(w) {}
        packed = p
        outFeatures = n
        inFeatures = k
    }
}

extension Tensor {
    /// `linear(weight:bias:)` with a packed weight, without autograd; nil when the product is one
    /// the packed kernel does not take (a single row, or too small), a trace is recording or an
    /// operand is on another device, so the caller uses the plain path.
    public func linear(packed: PackedLinearWeight, bias: Tensor?) -> Tensor? {
        // A traced graph must record the product as a Linear op, and another device runs it on
        // its backend: both take the plain path.
        guard !Tensor.routed(self, bias ?? self), dtype == .float32, rank >= 1, shape[rank - 1] == packed.inFeatures, bias.map({ $0.dtype == .float32 }) ?? true else {
            return nil
        }
        let rows = shape.dropLast().reduce(1, *), n = packed.outFeatures, k = packed.inFeatures
        guard PackedSgemm.takesPrepacked(m: rows, n: n, k: k) else { return nil }
        if let b = bias, b.shape != [n] {
            fatalError("[linear] bias of shape \(b.shape) does not match the weight's \(n) outputs")
        }
        let x = detached().contiguous()
        let out = Tensor(uninitializedShape: [rows, n], dtype: .float32)
        let pc = out.basePointer(Float.self)
        if let bias {
            let b = bias.detached().contiguous(), pb = b.basePointer(Float.self)
            for r in 0..<rows { (pc + r * n).update(from: pb, count: n) }
            withExtendedLifetime(b) {}
        }
        let opX = BLASOperand(rows: rows, cols: k, rowStride: k, colStride: 1)!
        packed.packed.multiply(UnsafePointer(x.basePointer(Float.self)), opX, pc, m: rows, accumulate: bias != nil)
        withExtendedLifetime(x) {}
        return rank == 2 ? out : out.reshape(Array(shape.dropLast()) + [n])
    }
}
