import Foundation
import Testing
@testable import MyelinNN
import MyelinCore

/// `layerNorm` as PyTorch's `F.layer_norm`: values against Float64 references, gradients against
/// finite differences, and the `LayerNorm` layer through it. Also `LeakyReLU(negativeSlope:)`.
@Suite struct LayerNormFunctionalTests {
    static let x = Tensor([[1.0, 2.0, 3.0, 4.0], [2.0, -1.0, 0.5, 7.0]], dtype: .float64)
    static let weight = Tensor([0.5, 1.0, 1.5, 2.0], dtype: .float64)
    static let bias = Tensor([0.1, 0.0, -0.1, 0.2], dtype: .float64)

    /// The rows normalised with the biased variance and eps inside the root, then scaled and
    /// shifted. References: (x - mean) / sqrt(var + eps) * w + b in Float64 (numpy), and the same
    /// formula written out here; row 1 by hand: mean 2.5, var 1.25, so
    /// (1 - 2.5) / sqrt(1.25001) * 0.5 + 0.1 = -0.57081770998...
    @Test func valuesMatchFloat64References() {
        let expected: [Double] = [-0.5708177099844635, -0.447211806656309, 0.5708177099844635, 2.883270839937854,
                                  0.07922072061114267, -1.038963969442867, -0.9103918961654361, 3.441567584661745]
        let y = layerNorm(Self.x, normalizedShape: [4], weight: Self.weight, bias: Self.bias)
        #expect(y.dtype == .float64 && y.shape == [2, 4])
        #expect(zip(y.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-14 }, "\(y.doubles)")

        // The formula, element by element.
        var manual: [Double] = []
        for row in 0..<2 {
            let v = Array(Self.x.doubles[(row * 4)..<(row * 4 + 4)])
            let mean = v.reduce(0, +) / 4
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            for i in 0..<4 { manual.append((v[i] - mean) / (variance + 1e-5).squareRoot() * Self.weight.doubles[i] + Self.bias.doubles[i]) }
        }
        #expect(zip(y.doubles, manual).allSatisfy { Swift.abs($0 - $1) < 1e-14 })
        #expect(Swift.abs(y.doubles[0] - ((1 - 2.5) / 1.25001.squareRoot() * 0.5 + 0.1)) < 1e-15)
    }

    /// Two normalised dimensions, no affine, another eps; the method and the free function agree.
    @Test func severalTrailingDimensions() {
        let x = Tensor((0..<12).map { pow(Double($0), 1.5) }, dtype: .float64).reshape([2, 2, 3])
        let expected: [Double] = [-1.19775181034092, -0.9429554483580548, -0.47707886882193523, 0.1262089232731806,
                                  0.8406190855220009, 1.6509581187257276, -1.4035304221917788, -0.8905850219621536,
                                  -0.3395593911234802, 0.2470762855120927, 0.8672785042932021, 1.5193200454721156]
        let y = x.layerNorm(normalizedShape: [2, 3], eps: 1e-3)
        #expect(y.shape == [2, 2, 3])
        #expect(zip(y.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-14 }, "\(y.doubles)")
        #expect(layerNorm(x, normalizedShape: [2, 3], eps: 1e-3).doubles == y.doubles)
        // Float32 in, float32 out.
        let y32 = x.to(.float32).layerNorm(normalizedShape: [2, 3], eps: 1e-3)
        #expect(y32.dtype == .float32 && zip(y32.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
    }

    @Test func gradientsMatchFiniteDifferences() {
        let g = RandomGenerator(seed: 11)
        let x = Tensor.normal([3, 2, 4], dtype: .float64, generator: g) * 2
        let w = Tensor.normal([2, 4], dtype: .float64, generator: g)
        let b = Tensor.normal([2, 4], dtype: .float64, generator: g)
        let results = gradCheck([x, w, b]) { layerNorm($0[0], normalizedShape: [2, 4], weight: $0[1], bias: $0[2]) }
        for (name, r) in zip(["input", "weight", "bias"], results) {
            #expect(r.worstRelativeError < 1e-6, "\(name): \(r)")
        }
        let plain = gradCheck([x]) { $0[0].layerNorm(normalizedShape: [4], eps: 1e-2) }[0]
        #expect(plain.worstRelativeError < 1e-6, "\(plain)")
    }

    /// The layer is the function with its parameters.
    @Test func theLayerUsesTheFunction() {
        let layer = LayerNorm([4]).to(.float64)
        layer.weight!.assign(Self.weight)
        layer.bias!.assign(Self.bias)
        #expect(layer(Self.x).doubles == layerNorm(Self.x, normalizedShape: [4], weight: Self.weight, bias: Self.bias).doubles)
        let plain = LayerNorm([4], eps: 1e-3, elementwiseAffine: false)
        let x32 = Self.x.to(.float32)
        #expect(plain(x32).doubles == x32.layerNorm(normalizedShape: [4], eps: 1e-3).doubles)
    }

    @Test func leakyReLUTakesPyTorchsArgumentName() {
        let layer = LeakyReLU(negativeSlope: 0.2)
        #expect(layer.negativeSlope == 0.2 && layer.slope == 0.2)
        #expect(layer(Tensor([-2.0, 3.0, 0.0], dtype: .float64)).doubles == [-0.4, 3.0, 0.0])
        #expect(LeakyReLU().negativeSlope == 0.01 && LeakyReLU(slope: 0.3).negativeSlope == 0.3)
    }
}
