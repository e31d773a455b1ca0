import Foundation
import Testing
@testable import MyelinCore
import MyelinTestSupport

/// Composite expressions against PyTorch's values and gradients (Fixtures/autograd.json from
/// generators/gen_autograd.py), then the behaviour of the autograd API.
@Suite struct AutogradTests {
    typealias Expr = @Sendable ([Tensor]) -> Tensor

    static func softmax(_ x: Tensor, axis: Int) -> Tensor { (x - x.logsumexp(axis: axis, keepDims: true)).exp() }
    static func ar(_ n: Int, _ shape: [Int]) -> Tensor { Tensor.arange(0, Double(n), dtype: .float32).reshape(shape) }

    /// One row per expression of the generator, written with Myelin's ops.
    static let expressions: [String: Expr] = [
        "mlp_tanh": { p in ((p[0].matmul(p[1]) + p[2]).tanh().matmul(p[3])).square().mean() },
        "softmax_cross_entropy": { p in
            -(p[0] - p[0].logsumexp(axis: 1, keepDims: true)).gather(axis: 1, index: Tensor([[1], [0], [4], [2]])).mean()
        },
        "layer_norm": { p in
            let x = p[0]
            let normed = (x - x.mean(axis: 1, keepDims: true)) / (x.variance(axis: 1, unbiased: false, keepDims: true) + 1e-5).sqrt()
            return ((normed * p[1] + p[2]).pow(2) * ar(6, [6])).sum()
        },
        "attention": { p in softmax(p[0].matmul(p[1].transposed()) / 2, axis: -1).matmul(p[2]).sin().sum() },
        "bce_with_logits": { p in
            let z = p[0], t = Tensor([1.0, 0, 1, 1, 0, 0])
            return (z.clamp(min: 0) - z * t + (-z.abs()).exp().log1p()).mean()
        },
        "max_pool_like": { p in (p[0].reshape([2, 3, 2]).max(axis: 2) * Tensor([1.0, -2.0, 3.0])).sum() },
        "reflect_pad": { p in (p[0].pad([(0, 0), (2, 1)], mode: .reflect).pow(2) * ar(16, [2, 8])).sum() },
        "norm_penalty": { p in (p[0].norm() - 1).pow(2) + p[0].abs().sum() * 0.1 },
        "cumsum_prod": { p in (p[0].cumsum(axis: 1) * p[1]).prod(axis: 1).sum() },
        "where_clamp": { p in
            Tensor.where(p[0] .> 0, p[0] * p[1], p[1].clamp(min: -0.5, max: 0.5)).sum() + p[0].maximum(p[1]).mean()
        },
        "huber": { p in
            let d = p[0] - p[1]
            return Tensor.where(d.abs() .< 1, d.pow(2) * 0.5, d.abs() - 0.5).mean()
        },
        "topk_sort": { p in p[0].topk(2, axis: 1).values.sum() + (p[0].sorted(axis: 0).values * ar(15, [3, 5])).sum() },
        "matmul_broadcast": { p in p[0].matmul(p[1]).exp().mean() },
        "var_std": { p in p[0].variance(axis: 0).sum() + p[0].std(axis: 1).sum() },
        "index_slices": { p in
            (p[0][1..., .slice(nil, nil, step: 2)] * p[0][..<(-1), .slice(1, nil, step: 2)]).sum() + p[0][-1].pow(3).sum()
        },
        "cat_stack_split": { p in
            let joined = Tensor.cat([p[0], p[1]], axis: 1).split(sizes: [2, 4], axis: 1)[1]
            return (joined * Tensor.stack([p[0], p[1]]).sum(axis: 0)[.all, ..<1]).sum()
        },
        "index_select_scatter": { p in
            (p[0].indexSelect(axis: 0, indices: Tensor([3, 1, 3])).sum(axis: 0) * p[1].sum(axis: 0)).sum()
                + p[0].scatterAdd(axis: 0, index: Tensor([[0, 1, 2], [3, 3, 0]]), source: p[1]).square().sum()
        },
        "pow_div_log": { p in (p[0].pow(p[1]) / (p[0] + p[1]) + (p[0] * p[1]).log()).sum() },
    ]

    @Test(arguments: Fixtures.load("autograd"))
    func matchesPyTorch(_ c: FixtureCase) {
        guard let f = Self.expressions[c.op] else {
            Issue.record("no expression for fixture \(c.op)")
            return
        }
        let (value, grads) = valueAndGrad(at: c.inputs.map(\.tensor), f)
        expectClose(value, c.expected[0].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) value")
        for (i, g) in grads.enumerated() {
            expectClose(g, c.expected[i + 1].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) gradient \(i)")
        }
    }

    @Test func everyFixtureHasAnExpression() {
        let missing = Set(Fixtures.load("autograd").map(\.op)).subtracting(Self.expressions.keys)
        #expect(missing.isEmpty, "\(missing.sorted())")
    }

    // MARK: The API

    @Test func backwardFillsLeafGradsAndAccumulates() {
        let x = Tensor([1.0, 2.0, 3.0]).requiringGrad()
        #expect(x.requiresGrad && x.isLeaf && x.grad == nil)
        let y = (x * x).sum()
        #expect(!y.isLeaf && y.gradFunctionName == "sum")
        y.backward()
        #expect(x.grad!.floats == [2, 4, 6])
        (x * 3).sum().backward()
        #expect(x.grad!.floats == [5, 7, 9], "gradients accumulate until reset")
        x.zeroGrad()
        #expect(x.grad == nil)
        // A copy of the tensor value shares its autograd identity, as a PyTorch tensor object does.
        let copy = x
        (copy * 2).sum().backward()
        #expect(x.grad!.floats == [2, 2, 2])
    }

    @Test func backwardWithExplicitGradient() {
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]]).requiringGrad()
        let y = x * x
        y.backward(gradient: Tensor([[1.0, 0.0], [0.5, 2.0]]))
        #expect(x.grad!.floats == [2, 0, 3, 16])
    }

    @Test func detachAndWithoutGradRecordNothing() {
        let x = Tensor([1.0, 2.0]).requiringGrad()
        let d = x.detached()
        #expect(!d.requiresGrad && !(d * 2).requiresGrad)
        let inside = withoutGrad { x * 2 }
        #expect(!inside.requiresGrad)
        #expect((x * 2).requiresGrad, "recording resumes after the scope")
        // Integer results and comparisons are not differentiable.
        #expect(!(x .> 1).requiresGrad && !x.argmax().requiresGrad)
    }

    @Test func retainGradKeepsIntermediateGradients() {
        let x = Tensor([1.0, -2.0]).requiringGrad()
        let h = x * 3
        h.retainGrad()
        let y = h.relu().sum()
        y.backward()
        #expect(h.grad!.floats == [1, 0])
        #expect(x.grad!.floats == [3, 0])
    }

    @Test func hooksSeeAndReplaceGradients() {
        let x = Tensor([1.0, 2.0]).requiringGrad()
        let h = x * 2
        var seen: [Float] = []
        h.registerHook { g in seen = g.floats; return g * 10 }
        (h * h).sum().backward()
        #expect(seen == [4, 8])
        #expect(x.grad!.floats == [80, 160], "the replaced gradient flows on")
    }

    /// An optimiser-style in-place update under withoutGrad keeps the parameter a leaf that
    /// requires gradients, even when a view of it is still alive (copy-on-write).
    @Test func inPlaceUpdatesKeepTheAutogradIdentity() {
        var w = Tensor([1.0, 2.0]).requiringGrad()
        let view = w[0..<1]
        (w * w).sum().backward()
        withoutGrad { w[.all] = w - w.grad! * 0.1 }
        #expect(w.requiresGrad && w.isLeaf)
        #expect(w.floats == [0.8, 1.6])
        #expect(view.floats == [1.0], "the old view keeps the old value")
        w.grad = nil
        (w * 2).sum().backward()
        #expect(w.grad!.floats == [2, 2])
    }

    @Test func retainGraphAllowsASecondBackward() {
        let x = Tensor([2.0]).requiringGrad()
        let y = (x * x * x).sum()
        y.backward(retainGraph: true)
        y.backward()
        #expect(x.grad!.floats == [24])
    }

    @Test func gradientsOfGradients() {
        // d/dx x³ = 3x², d²/dx² = 6x.
        let x = Tensor([1.0, 2.0], dtype: .float64).requiringGrad()
        let y = (x * x * x).sum()
        let dx = gradients(of: y, with: [x], createGraph: true)[0]
        #expect(dx.doubles == [3, 12] && dx.requiresGrad)
        let d2x = gradients(of: dx.sum(), with: [x])[0]
        #expect(d2x.doubles == [6, 12])
        // Hessian-vector product of f(w) = sum(tanh(A w)): H v through a gradient of (grad · v).
        let a = Tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype: .float64)
        let w = Tensor([0.1, -0.2], dtype: .float64).requiringGrad()
        let v = Tensor([1.0, 0.5], dtype: .float64)
        let gw = gradients(of: a.matmul(w).tanh().sum(), with: [w], createGraph: true)[0]
        let hv = gradients(of: (gw * v).sum(), with: [w])[0].doubles
        // Analytic: H = Aᵀ diag(-2 tanh(z) sech²(z)) A with z = A w.
        let z = a.matmul(w.detached()).doubles
        let d = z.map { -2 * Foundation.tanh($0) * (1 - Foundation.tanh($0) * Foundation.tanh($0)) }
        let rows = a.doubles
        var expected = [0.0, 0.0]
        for i in 0..<3 {
            let av = rows[i * 2] * v.doubles[0] + rows[i * 2 + 1] * v.doubles[1]
            for j in 0..<2 { expected[j] += rows[i * 2 + j] * d[i] * av }
        }
        #expect(zip(hv, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "\(hv) vs \(expected)")
    }

    @Test func functionalGradLeavesGradAlone() {
        let w = Tensor([1.0, 2.0]).requiringGrad()
        let (value, grads) = valueAndGrad(at: [w]) { p in (p[0] * p[0]).sum() }
        #expect(value.item() == 5 && grads[0].floats == [2, 4])
        #expect(w.grad == nil)
        let g = grad(at: [Tensor([3.0]), Tensor([4.0])]) { p in p[0] * p[1] }
        #expect(g[0].floats == [4] && g[1].floats == [3])
    }

    @Test func customFunctionsUseTheirBackward() {
        let x = Tensor([1.0, 2.0]).requiringGrad()
        // A straight-through estimator: rounds forward, passes gradients unchanged.
        let y = Tensor.custom("straightThrough", [x], forward: { $0[0].round() }, backward: { g, _, _ in [g] })
        #expect(y.gradFunctionName == "straightThrough")
        (y * Tensor([3.0, 5.0])).sum().backward()
        #expect(x.grad!.floats == [3, 5])
    }

    @Test func graphDescriptionAndDOT() {
        let x = Tensor.ones([2, 2]).requiringGrad(), w = Tensor.ones([2, 2]).requiringGrad()
        x.gradName = "x"
        let y = (x.matmul(w).relu() * 2).sum()
        let text = y.graphDescription()
        #expect(text == """
            #1 sum []
              #2 mul [2, 2]
                #3 relu [2, 2]
                  #4 matmul [2, 2]
                    #5 x (leaf, requires grad) [2, 2]
                    #6 leaf (leaf, requires grad) [2, 2]
                constant []
            """)
        let dot = y.graphDOT()
        #expect(dot.hasPrefix("digraph G {") && dot.contains("matmul") && dot.contains("-> n0"))
        #expect(dot.components(separatedBy: "->").count - 1 == 6)
    }

    /// The graph (and every tensor it saved) is released after backward.
    @Test func graphIsFreedAfterBackward() {
        weak var savedState: GradState?
        let x = Tensor.randn([4, 4]).requiringGrad()
        do {
            let h = x.matmul(x).tanh()
            savedState = h.gradState
            h.sum().backward()
        }
        #expect(savedState == nil, "intermediate graph nodes must not outlive backward")
        #expect(x.grad != nil)
    }

    /// 10,000 forward+backward steps of a small MLP keep resident memory flat. Runs in a child
    /// process, because the other tests allocate in parallel and resident memory is per process.
    @Test func memoryStaysFlatOverManySteps() async {
        await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            let g = RandomGenerator(seed: 3)
            let w1 = Tensor.normal([8, 16], generator: g).requiringGrad()
            let w2 = Tensor.normal([16, 1], generator: g).requiringGrad()
            let x = Tensor.normal([32, 8], generator: g)
            func step() {
                w1.grad = nil
                w2.grad = nil
                x.matmul(w1).relu().matmul(w2).square().mean().backward()
            }
            func residentMegabytes() -> Double {
                guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
                      let pages = s.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
                return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
            }
            for _ in 0..<500 { step() }
            let before = residentMegabytes()
            for _ in 0..<10_000 { step() }
            let after = residentMegabytes()
            if after - before >= 4 {
                FileHandle.standardError.write(Data("resident memory grew from \(before) MB to \(after) MB\n".utf8))
                exit(1)
            }
        }.map { result in
            #expect(result.standardErrorContent.isEmpty, "\(String(decoding: result.standardErrorContent, as: UTF8.self))")
        }
    }

    // MARK: Errors say what went wrong

    /// A value with gradients written through a subscript keeps them (PyTorch's CopySlices): the
    /// write used to go into the storage unrecorded, and `w`'s share of the gradient was lost.
    /// PyTorch 2.15: out.requires_grad True, w.grad [2, 7].
    @Test func subscriptWritesRecordTheirGradients() {
        let w = Tensor([1.0, 2.0], dtype: .float64).requiringGrad()
        var out = Tensor.zeros([3], dtype: .float64)
        out[0] = (w * w).sum()
        out[2] = w[1] * 3
        #expect(out.requiresGrad && out.doubles == [5, 0, 6])
        out.sum().backward()
        #expect(w.grad?.doubles == [2, 7])
        // Written into a tensor that carries gradients itself: both get theirs; the overwritten
        // elements pass none back.
        let a = Tensor([1.0, 2.0, 3.0], dtype: .float64).requiringGrad(), b = Tensor([10.0], dtype: .float64).requiringGrad()
        var y = a * 2
        y[1...] = b
        #expect(y.doubles == [2, 10, 10])
        (y * Tensor([1.0, 2.0, 3.0], dtype: .float64)).sum().backward()
        #expect(a.grad?.doubles == [2, 0, 0] && b.grad?.doubles == [5])
        // Nothing recording: still a write into the storage, seen through views.
        var plain = Tensor.zeros([2, 2])
        let row = plain[0]
        withoutGrad { plain[0] = Tensor([1.0, 2.0]) }
        plain[1, 1] = Tensor(scalar: 7.0)
        #expect(plain.floats == [1, 2, 0, 7] && row.floats == [0, 0])
    }

    /// The 2-norm's gradient is 0 where the norm is 0, as PyTorch's (it was NaN: sqrt's infinite
    /// slope times x * x's zero). PyTorch 2.15: [0, 0] for zeros; [[0, 0], [0.6, 0.8]] by rows.
    @Test func normGradientAtZeroIsZero() {
        let zero = Tensor([0.0, 0.0], dtype: .float64).requiringGrad()
        let n = zero.norm()
        #expect(n.doubles == [0])
        n.backward()
        #expect(zero.grad?.doubles == [0, 0])
        let rows = Tensor([[0.0, 0.0], [3.0, 4.0]], dtype: .float64).requiringGrad()
        let byRow = rows.norm(axes: [1])
        #expect(byRow.doubles == [0, 5])
        byRow.sum().backward()
        let rowGrad = rows.grad!.doubles
        #expect(rowGrad[0] == 0 && rowGrad[1] == 0 && abs(rowGrad[2] - 0.6) < 1e-15 && abs(rowGrad[3] - 0.8) < 1e-15)
        // NaN still propagates, in the value and the gradient.
        let bad = Tensor([Double.nan, 1.0], dtype: .float64).requiringGrad()
        let b = bad.norm()
        #expect(b.item().isNaN)
        b.backward()
        let badGrad = bad.grad!.doubles
        #expect(badGrad.allSatisfy { $0.isNaN })
        // The same bits as without recording.
        let x = Tensor.normal([5, 7], generator: RandomGenerator(seed: 2))
        #expect(x.requiringGrad().norm(axes: [0]).floats == x.norm(axes: [0]).floats)
    }

    /// prod's gradient is the product of the other elements, zeros included (it was product / x:
    /// NaN at a 0). PyTorch 2.15: [0, 6, 0]; by rows of [[2, 0], [3, 4]]: [0, 2, 4, 3]; two zeros: 0.
    @Test func prodGradientWithZeros() {
        let x = Tensor([2.0, 0.0, 3.0], dtype: .float64).requiringGrad()
        x.prod().backward()
        #expect(x.grad?.doubles == [0, 6, 0])
        let m = Tensor([[2.0, 0.0], [3.0, 4.0]], dtype: .float64).requiringGrad()
        m.prod(axis: 1).sum().backward()
        #expect(m.grad?.doubles == [0, 2, 4, 3])
        let two = Tensor([0.0, 0.0, 5.0], dtype: .float64).requiringGrad()
        two.prod().backward()
        #expect(two.grad?.doubles == [0, 0, 0])
        // Without zeros, the bits of product / x as before.
        let g = RandomGenerator(seed: 3)
        let a = (Tensor.uniform([4, 5], low: 0.5, high: 2, generator: g)).to(.float64).requiringGrad()
        a.prod(axes: [1]).sum().backward()
        let expected = (a.detached().prod(axes: [1], keepDims: true) / a.detached()).doubles
        #expect(a.grad?.doubles == expected)
    }

    @Test func misuseTrapsWithMessages() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor([1.0]).sum().backward()
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[backward] this tensor does not require gradients"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([1.0, 2.0]).requiringGrad()
            x.argmax().backward(gradient: Tensor(scalar: Int64(1)))
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[backward] no gradient flows through argmax: it is not differentiable"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([2.0]).requiringGrad()
            let y = (x * x).sum()
            y.backward()
            y.backward()
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("already freed"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var x = Tensor([1, 2])
            x.requiresGrad = true
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[requiresGrad] only floating-point tensors can require gradients; this one is int64"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var x = Tensor([1.0, 2.0]).requiringGrad()
            x[0] = Tensor(scalar: 5.0)
        }.map { result in
            let err = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(err.contains("[index] cannot write in place into a tensor that requires gradients"))
        }
    }
}
