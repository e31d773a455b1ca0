import Foundation
import Testing
@testable import MyelinNN
import MyelinCore

/// `Module.to(_:)`: a float64 model computes and trains in float64, matching its float32 twin.
@Suite struct ModuleDTypeTests {
    static func mlp(seed: UInt64 = 3) -> Sequential {
        let g = RandomGenerator(seed: seed)
        return Sequential { Linear(3, 5, generator: g); ReLU(); Linear(5, 2, generator: g) }
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Double {
        zip(a.doubles, b.doubles).map { Swift.abs($0 - $1) }.max() ?? 0
    }

    @Test func aFloat64ModelGivesFloat64OutputsAndGradients() {
        let m32 = Self.mlp(), m64 = Self.mlp()
        let returned = m64.to(.float64)
        #expect(returned === m64)
        #expect(m64.parameters().allSatisfy { $0.dtype == .float64 && $0.requiresGrad })
        let x = Tensor.normal([4, 3], generator: RandomGenerator(seed: 9))
        let y32 = m32(x), y64 = m64(x.to(.float64))
        #expect(y32.dtype == .float32 && y64.dtype == .float64 && y64.shape == [4, 2])
        #expect(Self.maxDifference(y32, y64) < 1e-6, "outputs differ by \(Self.maxDifference(y32, y64))")

        y32.square().sum().backward()
        y64.square().sum().backward()
        for (p32, p64) in zip(m32.parameters(), m64.parameters()) {
            let g64 = p64.grad!
            #expect(g64.dtype == .float64 && g64.shape == p64.shape)
            #expect(Self.maxDifference(p32.grad!, g64) < 1e-5, "gradients differ by \(Self.maxDifference(p32.grad!, g64))")
        }
        // And back: the float32 values are the original ones exactly (float32 -> float64 -> float32).
        m64.to(.float32)
        #expect(m64.parameters().map(\.value.floats) == m32.parameters().map(\.value.floats))
        #expect(m64.parameters().allSatisfy { $0.dtype == .float32 && $0.grad == nil })
    }

    /// Floating buffers follow, integer ones keep their type; frozen parameters stay frozen.
    @Test func buffersAndFrozenParameters() {
        let norm = BatchNorm1d(4)
        norm.weight!.requiresGrad = false
        norm.to(.float64)
        #expect(norm.runningMean!.value.dtype == .float64 && norm.runningVar!.value.dtype == .float64)
        #expect(norm.numBatchesTracked!.value.dtype == .int64)
        #expect(norm.weight!.dtype == .float64 && !norm.weight!.requiresGrad && norm.bias!.requiresGrad)
        let y = norm(Tensor.normal([6, 4], dtype: .float64, generator: RandomGenerator(seed: 1)))
        #expect(y.dtype == .float64 && norm.runningMean!.value.dtype == .float64)
    }

    /// Every optimiser steps float64 parameters in float64 (Adam's C kernel is float32-only; the
    /// Swift path takes float64), following the float32 run closely; converting after some steps
    /// converts the optimiser's state at the next step.
    @Test(arguments: ["sgd", "adam", "adamw", "adagrad", "rmsprop", "adadelta"])
    func optimizersTrainFloat64Parameters(_ name: String) {
        func optimizer(_ m: Module) -> Optimizer {
            switch name {
            case "sgd": return SGD(parameters: m.parameters(), lr: 0.05, momentum: 0.9)
            case "adam": return Adam(parameters: m.parameters(), lr: 0.01)
            case "adamw": return AdamW(parameters: m.parameters(), lr: 0.01)
            case "adagrad": return Adagrad(parameters: m.parameters(), lr: 0.05)
            case "rmsprop": return RMSProp(parameters: m.parameters(), lr: 0.01)
            default: return Adadelta(parameters: m.parameters(), lr: 1)
            }
        }
        let g = RandomGenerator(seed: 4)
        let x = Tensor.normal([8, 3], generator: g), t = Tensor.normal([8, 2], generator: g)
        let m32 = Self.mlp(), m64 = Self.mlp().to(.float64), late = Self.mlp()
        let o32 = optimizer(m32), o64 = optimizer(m64), oLate = optimizer(late)
        var first = 0.0, last = 0.0
        for step in 0..<20 {
            if step == 10 { late.to(.float64) }
            for (m, o, inputs, targets) in [(m32, o32, x, t), (m64, o64, x.to(.float64), t.to(.float64)),
                                             (late, oLate, step < 10 ? x : x.to(.float64), step < 10 ? t : t.to(.float64))] {
                o.zeroGrad()
                let loss = (m(inputs) - targets).square().mean()
                loss.backward()
                o.step()
                if m === m64 {
                    if step == 0 { first = loss.item() }
                    last = loss.item()
                }
            }
        }
        #expect(last < first, "\(name): loss \(first) -> \(last)")
        for (a, b) in zip(m32.parameters(), m64.parameters()) {
            #expect(b.dtype == .float64)
            #expect(Self.maxDifference(a.value, b.value) < 1e-4, "\(name): float32 and float64 runs differ by \(Self.maxDifference(a.value, b.value))")
        }
        for (a, b) in zip(m32.parameters(), late.parameters()) {
            #expect(b.dtype == .float64)
            #expect(Self.maxDifference(a.value, b.value) < 1e-4, "\(name), converted at step 10")
        }
        #expect(o64.stateDict().tensors.values.allSatisfy { $0.dtype == .float64 || $0.dtype == .int64 })
    }
}
