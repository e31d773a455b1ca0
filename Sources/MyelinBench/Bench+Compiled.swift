import Foundation
import Myelin

// Workloads of the compiled (traced and fused) path, each timed eager and compiled in the same run.
// The eager side is what users write; the compiled side is the same code through Graph.trace and
// fused(), or Module.compiledStep. Peer: ../shared/bench style, scripts/bench-peers/torch_compiled_bench.py.
extension Benchmarks {
    static let compiledWorkloads = ["fusion_chain_cheap_1m", "fusion_chain_exp_tanh_1m", "fusion_gelu_1m", "compiled_mlp_step"]

    /// Ten cheap elementwise ops (add, sub, mul, max with a scalar, neg, abs) over 1M floats.
    static func cheapChain(_ x: Tensor, _ b: Tensor) -> Tensor {
        var y = x + b
        y = y * 1.5
        y = y - 0.25
        y = y.maximum(Tensor(scalar: Float(-1)))
        y = y.negated()
        y = y.abs()
        y = y + b
        y = y * 0.5
        y = y - b
        return y.abs()
    }

    /// A chain with exp and tanh among cheap ops.
    static func expTanhChain(_ x: Tensor, _ b: Tensor) -> Tensor {
        let y = (x * 0.5 + b).tanh()
        return (y * y - 1).exp() * x
    }

    /// GELU's tanh form composed from tensor ops.
    /// PyTorch's formula 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in the hand-written loop's
    /// order of operations, so the two do the same arithmetic (and give the same bits).
    static func composedGELU(_ x: Tensor) -> Tensor {
        x * 0.5 * (1 + ((x + x * x * x * 0.044715) * (2 / Double.pi).squareRoot()).tanh())
    }

    /// The same GELU as one hand-written loop: Myelin's GELU op, one C loop over the vector tanh
    /// (`gelu_tanh_one` in CMyelinKernels), the reference a fused graph should match.
    static func handGELU(_ x: Tensor) -> Tensor { x.gelu(approximate: .tanh) }

    static func compiledPair(_ name: String, eager: Double, compiled: Double, unit: String) -> [Result] {
        [
            Result(workload: name, metric: "eager_ms", value: eager * 1e3, unit: "ms", better: "lower"),
            Result(workload: name, metric: "compiled_ms", value: compiled * 1e3, unit: "ms", better: "lower"),
            Result(workload: name, metric: "speedup", value: eager / compiled, unit: unit, better: "higher"),
        ]
    }

    static func fusionChain(_ name: String, _ f: @escaping (Tensor, Tensor) -> Tensor) -> [Result] {
        let x = Tensor.randn([1 << 20]), b = Tensor.randn([1 << 20])
        let graph = Graph.trace(inputs: [x, b]) { [f($0[0], $0[1])] }.fused()
        let eager = perCall { consume(f(x, b)) }
        let compiled = perCall { consume(graph([x, b])[0]) }
        return compiledPair(name, eager: eager, compiled: compiled, unit: "x")
    }

    static func fusionGELU(_ name: String) -> [Result] {
        let x = Tensor.randn([1 << 20])
        let graph = Graph.trace(inputs: [x]) { [composedGELU($0[0])] }.fused()
        let eager = perCall { consume(composedGELU(x)) }
        let compiled = perCall { consume(graph([x])[0]) }
        let hand = perCall { consume(handGELU(x)) }
        return compiledPair(name, eager: eager, compiled: compiled, unit: "x")
            + [Result(workload: name, metric: "handwritten_ms", value: hand * 1e3, unit: "ms", better: "lower"),
               Result(workload: name, metric: "compiled_vs_handwritten", value: hand / compiled, unit: "x", better: "higher")]
    }

    /// A small MLP (2 -> 64 -> 64 -> 2, batch 32) where per-op overhead dominates: one Adam step
    /// eager (forward, loss, backward, step) against the compiled forward-loss-backward and the same step.
    static func compiledMLPStep(_ name: String, steps: Int = 200) -> [Result] {
        func model() -> Sequential { Sequential { Linear(2, 64); ReLU(); Linear(64, 64); ReLU(); Linear(64, 2) } }
        let x = Tensor.randn([32, 2]), y = Tensor.randint(0, 2, shape: [32])
        let eagerModel = model(), compiledModel = model()
        let optA = Adam(parameters: eagerModel.parameters(), lr: 1e-3), optB = Adam(parameters: compiledModel.parameters(), lr: 1e-3)
        let step = compiledModel.compiledStep { out, t in crossEntropy(out, labels: t) }
        let eager = perCall(samples: 9) {
            for _ in 0..<steps {
                optA.zeroGrad()
                crossEntropy(eagerModel(x), labels: y).backward()
                optA.step()
            }
        }
        let compiled = perCall(samples: 9) {
            for _ in 0..<steps {
                optB.zeroGrad()
                step(x, y)
                optB.step()
            }
        }
        return [
            Result(workload: name, metric: "eager_us_per_step", value: eager / Double(steps) * 1e6, unit: "us", better: "lower"),
            Result(workload: name, metric: "compiled_us_per_step", value: compiled / Double(steps) * 1e6, unit: "us", better: "lower"),
            Result(workload: name, metric: "speedup", value: eager / compiled, unit: "x", better: "higher"),
        ]
    }
}
