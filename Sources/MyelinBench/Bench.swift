import Foundation
import Myelin

/// The workloads of ../shared/bench/README.md, printed as the same JSON lines as the PyTorch and
/// NumPy peers so `compare.py` can set them side by side.
public enum Benchmarks {
    public static let version = "0.1.0"
    /// Workloads run when none are named, in the README's order.
    public static let defaultWorkloads = ["gemm_f32_1024", "gemm_f32_256", "add_f32_1m", "small_op_overhead", "autograd_small_step", "mlp_train", "cnn_train", "mlp_infer_b1", "lstm_train"]
    /// Myelin's own measurements of its machinery, with no peer.
    static let diagnosticWorkloads = ["pool_handoff", "layer_overhead_b1"]

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
                return "[bench] unknown workload '\(w)'; known: \((Benchmarks.defaultWorkloads + Benchmarks.diagnosticWorkloads + Benchmarks.compiledWorkloads + Benchmarks.classicWorkloads + Benchmarks.pretrainedWorkloads).joined(separator: ", ")), gemm_f32_<n>, gemm_f32_<m>x<k>x<n>, gemm_f64_<n>"
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
        case "layer_overhead_b1": return mlpInferB1(name, model: Sequential { Linear(16, 16); ReLU(); Linear(16, 16); ReLU(); Linear(16, 10) },
                                                     features: 16, calls: 20_000)
        case "pool_handoff": return poolHandoff(name, jobs: 20_000)
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

    /// What one hand-off to the thread pool costs: a job of two chunks (1,000 steps of
    /// x = 31 x + i each, the chunk of `scripts/batch1-floor.sh`'s meeting), against one chunk
    /// alone. `us_per_job` minus `us_per_chunk` is the hand-off, to set beside that script's
    /// meeting of two spinning threads; `worker_share` is the fraction of jobs whose second chunk
    /// the worker ran (the caller runs it when the worker is late).
    static func poolHandoff(_ name: String, jobs: Int) -> [Result] {
        let sink = UnsafeMutablePointer<UInt>.allocate(capacity: 48)
        sink.initialize(repeating: 0, count: 48)
        defer { sink.deallocate() }
        // No tensor first: the pool stops OpenBLAS's own threads itself (`ThreadPool.shared`).
        let caller = pthread_self()
        // Each chunk writes its own cache line; the worker counts the chunks it ran on a third.
        @inline(never) func chunk(_ c: Int) {
            var x = UInt(c)
            for i in 0..<UInt(1_000) { x = x &* 31 &+ i }
            sink[c * 16] = x
            if pthread_equal(pthread_self(), caller) == 0 { sink[32] &+= 1 }
        }
        let alone = perCall(samples: 7) { for _ in 0..<jobs { chunk(0) } }
        sink[32] = 0
        var ran = 0
        // 32 elements in two chunks of 16: one chunk for each of the two threads.
        let job = perCall(samples: 7) {
            for _ in 0..<jobs { Threading.parallelFor(32, grain: 16) { lo, _ in chunk(lo == 0 ? 0 : 1) } }
            ran += jobs
        }
        return [
            Result(workload: name, metric: "us_per_job", value: job / Double(jobs) * 1e6, unit: "us", better: "lower"),
            Result(workload: name, metric: "us_per_chunk", value: alone / Double(jobs) * 1e6, unit: "us", better: "lower"),
            Result(workload: name, metric: "worker_share", value: Double(sink[32]) / Double(max(ran, 1)), unit: "fraction", better: "higher"),
        ]
    }

    static func smallOps(_ name: String, _ ops: Int) -> Result {
        let a = Tensor.randn([16]), b = Tensor.randn([16])
        let t = perCall(samples: 7) {
            for _ in 0..<ops { consume(a + b) }
        }
        return Result(workload: name, metric: "us_per_op", value: t / Double(ops) * 1e6, unit: "us", better: "lower")
    }
}
