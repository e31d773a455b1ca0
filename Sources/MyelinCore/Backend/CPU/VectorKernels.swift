import CMyelinKernels

// Float32 loops of the C kernels (vecmath.c), with AVX2 when the CPU has it. An elementwise op
// names its loop with `vectorF32`; eager float32 ops (exp, tanh, sigmoid) and the block loops of
// fused graphs run it. exp, tanh, sigmoid and erf are Myelin's own polynomials (within 3 ulp of libm,
// 10-20x faster, the same bits on every machine), so a float32 op gives the same values eager,
// replayed or fused, contiguous or not.

/// `y[i] = f(x[i])` over `n` contiguous floats.
typealias VectorUnaryF32 = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
/// `y[i] = f(a[i], b[i])` over `n` contiguous floats.
typealias VectorBinaryF32 = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

extension FloatUnaryOp { static var vectorF32: VectorUnaryF32? { nil } }
extension NumericUnaryOp { static var vectorF32: VectorUnaryF32? { nil } }
extension NumericBinaryOp { static var vectorF32: VectorBinaryF32? { nil } }
extension FloatBinaryOp { static var vectorF32: VectorBinaryF32? { nil } }

enum VectorKernels {
    static let exp: VectorUnaryF32 = myelin_vexp_f32
    static let tanh: VectorUnaryF32 = myelin_vtanh_f32
    static let sigmoid: VectorUnaryF32 = myelin_vsigmoid_f32
    static let erf: VectorUnaryF32 = myelin_verf_f32
    static let gelu: VectorUnaryF32 = myelin_vgelu_f32
    static let geluTanh: VectorUnaryF32 = myelin_vgelu_tanh_f32
    static let negate: VectorUnaryF32 = myelin_vneg_f32
    static let abs: VectorUnaryF32 = myelin_vabs_f32
    static let relu: VectorUnaryF32 = myelin_vrelu_f32
    static let square: VectorUnaryF32 = myelin_vsquare_f32
    static let add: VectorBinaryF32 = myelin_vadd_f32
    static let sub: VectorBinaryF32 = myelin_vsub_f32
    static let mul: VectorBinaryF32 = myelin_vmul_f32
    static let div: VectorBinaryF32 = myelin_vdiv_f32
    static let maximum: VectorBinaryF32 = myelin_vmaximum_f32
    static let minimum: VectorBinaryF32 = myelin_vminimum_f32

    /// `k` over a float32 tensor (made contiguous first), on both cores for large ones.
    static func map(_ k: VectorUnaryF32, _ x: Tensor) -> Tensor {
        let src = x.contiguous()
        let out = Tensor(uninitializedLike: src, dtype: .float32)
        let a = UnsafePointer(src.basePointer(Float.self)), o = out.basePointer(Float.self)
        Threading.parallelChunks(src.count) { lo, hi in k(a + lo, o + lo, hi - lo) }
        withExtendedLifetime(src) {}
        return out
    }
}
