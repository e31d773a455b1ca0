import Foundation
import Testing
@testable import MyelinNN
@testable import MyelinCore
import MyelinTestSupport

/// `Linear.packsWeightForInference`: the plain product (its bits where that runs on the packed kernel), a new pack whenever the
/// weight changes through its `Parameter`, and the plain path wherever gradients are needed.
@Suite struct PackedLinearTests {

    /// The plain product's bits where it runs on the packed kernel too (`PackedSgemm.preferred`);
    /// where BLAS runs it, its values within float32 rounding (a stale pack is off by far more).
    private func expectPlain(_ packed: Tensor, _ plain: Tensor, _ what: String = "",
                             sourceLocation: SourceLocation = #_sourceLocation) {
        if PackedSgemm.preferred {
            #expect(bitPatterns(packed) == bitPatterns(plain), "\(what)", sourceLocation: sourceLocation)
        } else {
            expectClose(packed, plain, rtol: 1e-5, atol: 1e-5, what, sourceLocation: sourceLocation)
        }
    }

    private func layer(_ inputs: Int, _ outputs: Int, bias: Bool = true) -> Linear {
        Linear(inputs, outputs, bias: bias, generator: RandomGenerator(seed: 5))
    }

    @Test func packedProductsGiveThePlainBits() {
        let g = RandomGenerator(seed: 9)
        for (rows, inputs, outputs, bias) in [(20, 384, 384, true), (3, 37, 129, false), (64, 100, 7, true), (1, 384, 1536, true)] {
            let plain = layer(inputs, outputs, bias: bias), packed = layer(inputs, outputs, bias: bias)
            packed.packsWeightForInference = true
            let x = Tensor.normal([2, rows, inputs], generator: g)
            let expected = withoutGrad { plain(x) }
            expectPlain(withoutGrad { packed(x) }, expected, "\(rows)x\(inputs) by \(outputs)")
            // The pack is reused by the next call, with the same result.
            expectPlain(withoutGrad { packed(x) }, expected)
        }
    }

    @Test func theLowLevelProductRefusesWhatItCannotTake() throws {
        let w0 = Tensor.normal([64, 32], generator: RandomGenerator(seed: 8))
        guard let w = PackedLinearWeight(w0) else { return }   // no packed kernel on this CPU (no AVX2)
        #expect(w.outFeatures == 64 && w.inFeatures == 32)
        // A product it takes: the plain product's bits when that runs on the packed kernel too,
        // else the same values within float32 rounding (BLAS sums in another order).
        let x = Tensor.normal([8, 32], generator: RandomGenerator(seed: 1)), b = Tensor.normal([64])
        let y = try #require(withoutGrad { x.linear(packed: w, bias: b) })
        expectPlain(y, withoutGrad { x.linear(weight: w0, bias: b) })
        // One row goes to the matrix-vector path, so the packed product declines it.
        #expect(withoutGrad { Tensor.normal([1, 32]).linear(packed: w, bias: nil) } == nil)
        #expect(withoutGrad { Tensor.normal([8, 32], dtype: .float64).linear(packed: w, bias: nil) } == nil)
        #expect(PackedLinearWeight(Tensor.normal([4, 4], dtype: .float64)) == nil)
    }

    @Test func everyChangeThroughTheParameterMakesANewPack() {
        let plain = layer(48, 40), packed = layer(48, 40)
        packed.packsWeightForInference = true
        let x = Tensor.normal([16, 48], generator: RandomGenerator(seed: 2))
        _ = withoutGrad { packed(x) }

        // An optimiser step writes the weight through its Parameter.
        for l in [plain, packed] {
            let loss = l(x).square().mean()
            loss.backward()
            SGD(parameters: l.parameters(), lr: 0.1).step()
        }
        expectPlain(withoutGrad { packed(x) }, withoutGrad { plain(x) })

        // `assign` (what loading a state dict does).
        let newWeight = Tensor.normal([40, 48], generator: RandomGenerator(seed: 4))
        let before = packed.weight.generation
        packed.weight.assign(newWeight); plain.weight.assign(newWeight)
        #expect(packed.weight.generation != before)
        expectPlain(withoutGrad { packed(x) }, withoutGrad { plain(x) })

        // Turning it off drops the pack; on again packs the current values.
        packed.packsWeightForInference = false
        expectPlain(withoutGrad { packed(x) }, withoutGrad { plain(x) })
    }

    /// With gradients needed the layer takes the plain, differentiable product.
    @Test func trainingStillGetsGradients() {
        let l = layer(30, 20)
        l.packsWeightForInference = true
        let x = Tensor.normal([8, 30], generator: RandomGenerator(seed: 6))
        l(x).sum().backward()
        #expect(l.weight.grad != nil && l.bias?.grad != nil)
        let gx = grad(at: [x]) { l($0[0]).sum() }[0]
        #expect(gx.shape == [8, 30])
    }
}
