import Foundation
import Myelin

/// The workloads of ../shared/bench/README.md, printed as the same JSON lines as the PyTorch and
/// NumPy peers so `compare.py` can set them side by side.
public enum Benchmarks {
    public static let version = "0.1.0"
    /// Workloads run when none are named, in the README's order.
    public static let defaultWorkloads = ["gemm_f32_1024", "gemm_f32_256", "add_f32_1m", "small_op_overhead", "autograd_small_step", "mlp_train", "cnn_train", "mlp_infer_b1", "lstm_train"]

    /// One JSON line of results.
    public struct Result {
        public let workload, metric: String
        public let value: Double
        public let unit, better: String

        public init(workload: String, metric: String, value: Double, unit: String, better: String) {
            (self.workload, self.metric, self.value, self.unit, self.better) = (workload, metric, value, unit, better)
        }

        public func jsonLine(threads: Int) -> String {
            // Six significant digits, as the peers print.
            let v = Double(String(format: "%.6g", value)) ?? value
            let fields: [(String, String)] = [
                ("workload", JSONText.quote(workload)), ("metric", JSONText.quote(metric)), ("value", "\(v)"), ("unit", JSONText.quote(unit)),
                ("better", JSONText.quote(better)), ("impl", JSONText.quote("myelin \(Benchmarks.version)")), ("threads", "\(threads)"),
            ]
            return "{" + fields.map { "\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
    }

    public enum BenchError: Error, CustomStringConvertible {
        case unknownWorkload(String)
        public var description: String {
            switch self {
            case .unknownWorkload(let w):
                return "[bench] unknown workload '\(w)'; known: \((Benchmarks.defaultWorkloads + Benchmarks.compiledWorkloads + Benchmarks.classicWorkloads + Benchmarks.pretrainedWorkloads).joined(separator: ", ")), gemm_f32_<n>, gemm_f32_<m>x<k>x<n>, gemm_f64_<n>"
            }
        }
    }

    /// Runs one workload by name. Every workload seeds the generator with 0 first.
    public static func run(_ name: String) throws -> [Result] {
        Random.seed(0)
        if name.hasPrefix("gemm_f32_"), let n = Int(name.dropFirst("gemm_f32_".count)), n > 0 {
            return [gemm(name, n)]
        }
        // gemm_f32_<m>x<k>x<n>: A [m, k] times B [k, n], one layer's product (README, "Matrix products").
        if name.hasPrefix("gemm_f32_") {
            let dims = name.dropFirst("gemm_f32_".count).split(separator: "x").compactMap { Int($0) }
            if dims.count == 3, dims.allSatisfy({ $0 > 0 }) { return [gemm(name, m: dims[0], k: dims[1], n: dims[2])] }
        }
        if name.hasPrefix("gemm_f64_"), let n = Int(name.dropFirst("gemm_f64_".count)), n > 0 {
            return [gemm(name, n, dtype: .float64)]
        }
        switch name {
        case "add_f32_1m": return [add(name, 1 << 20)]
        case "small_op_overhead": return [smallOps(name, 10_000)]
        case "autograd_small_step": return [autogradStep(name, 2_000)]
        case "mlp_train": return mlpTrain(name)
        case "cnn_train": return cnnTrain(name)
        case "mlp_infer_b1": return mlpInferB1(name)
        case "lstm_train": return lstmTrain(name)
        case "fusion_chain_cheap_1m": return fusionChain(name, cheapChain)
        case "fusion_chain_exp_tanh_1m": return fusionChain(name, expTanhChain)
        case "fusion_gelu_1m": return fusionGELU(name)
        case "compiled_mlp_step": return compiledMLPStep(name)
        case "knn_mnist": return try knnMNIST(name, precision: .float32)
        case "knn_mnist_f64": return try knnMNIST(name, precision: .float64)
        case "kmeans_mnist": return try kmeansMNIST(name)
        case "minilm_embed_b1": return try minilmEmbed(name, sentences: 200, batchSize: 1)
        case "minilm_embed_b32": return try minilmEmbed(name, sentences: 1024, batchSize: 32)
        default: throw BenchError.unknownWorkload(name)
        }
    }

    /// Median seconds per call: a warm-up, then `samples` samples of about `sampleSeconds` each
    /// (the peers' `per_call`).
    static func perCall(samples: Int = 15, sampleSeconds: Double = 0.02, _ body: () -> Void) -> Double {
        body()
        var t = monotonicSeconds()
        body()
        let inner = max(1, Int((sampleSeconds / (monotonicSeconds() - t)).rounded()))
        var times: [Double] = []
        for _ in 0..<samples {
            t = monotonicSeconds()
            for _ in 0..<inner { body() }
            times.append((monotonicSeconds() - t) / Double(inner))
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Keeps the optimiser from discarding a result.
    @inline(never)
    static func consume(_ t: Tensor) { if t.count == -1 { print(t) } }

    static func gemm(_ name: String, _ n: Int, dtype: DType = .float32) -> Result {
        gemm(name, m: n, k: n, n: n, dtype: dtype)
    }

    static func gemm(_ name: String, m: Int, k: Int, n: Int, dtype: DType = .float32) -> Result {
        let a = Tensor.randn([m, k]).to(dtype), b = Tensor.randn([k, n]).to(dtype)
        let t = perCall { consume(a.matmul(b)) }
        return Result(workload: name, metric: "gflops", value: 2 * Double(m) * Double(k) * Double(n) / t / 1e9, unit: "GFLOP/s", better: "higher")
    }

    static func add(_ name: String, _ n: Int) -> Result {
        let a = Tensor.randn([n]), b = Tensor.randn([n])
        let t = perCall { consume(a + b) }
        return Result(workload: name, metric: "gbps", value: 3 * 4 * Double(n) / t / 1e9, unit: "GB/s", better: "higher")
    }

    static func autogradStep(_ name: String, _ steps: Int) -> Result {
        let x = Tensor.randn([16, 16]).requiringGrad(), w = Tensor.randn([16, 16]).requiringGrad()
        let t = perCall(samples: 7) {
            for _ in 0..<steps {
                x.grad = nil
                w.grad = nil
                let y = ((x.matmul(w)).relu() * 2 + 1).sum()
                y.backward()
            }
        }
        return Result(workload: name, metric: "us_per_step", value: t / Double(steps) * 1e6, unit: "us", better: "lower")
    }

    static func smallOps(_ name: String, _ ops: Int) -> Result {
        let a = Tensor.randn([16]), b = Tensor.randn([16])
        let t = perCall(samples: 7) {
            for _ in 0..<ops { consume(a + b) }
        }
        return Result(workload: name, metric: "us_per_op", value: t / Double(ops) * 1e6, unit: "us", better: "lower")
    }
}
