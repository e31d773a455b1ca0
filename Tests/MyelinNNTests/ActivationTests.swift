import Foundation
import Testing
@testable import MyelinNN
import MyelinCore
import MyelinTestSupport

/// The cases of Fixtures/functional.json (from generators/gen_functional.py): PyTorch's values and
/// gradients of every activation and loss, shared by ActivationTests and LossTests.
enum FunctionalFixtures {
    /// One table row: the Myelin call for a fixture op, given the named inputs and the case's options.
    typealias Function = @Sendable (_ inputs: [String: Tensor], _ c: FixtureCase) -> Tensor

    static let all = Fixtures.load("functional")

    /// The cases whose op has a row in `table`.
    static func cases(in table: [String: Function]) -> [FixtureCase] { all.filter { table[$0.op] != nil } }

    /// Compares the output, then the gradient of sum(output * upstream) with respect to every input
    /// the fixture lists, computed with `valueAndGrad`.
    static func check(_ c: FixtureCase, _ f: Function, sourceLocation: SourceLocation = #_sourceLocation) {
        let names = c.strings("names")
        let tensors = c.inputs.map(\.tensor)
        let upstream = tensors.last!
        func call(_ ts: [Tensor]) -> Tensor { f(Dictionary(uniqueKeysWithValues: zip(names, ts)), c) }

        expectClose(call(tensors), c.expected[0].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) value",
                    sourceLocation: sourceLocation)
        let wrt = c.ints("grads") ?? []
        if wrt.isEmpty { return }
        let (_, grads) = valueAndGrad(at: wrt.map { tensors[$0] }) { diff in
            var ts = tensors
            for (k, i) in wrt.enumerated() { ts[i] = diff[k] }
            return (call(ts) * upstream).sum()
        }
        for (k, g) in grads.enumerated() {
            expectClose(g, c.expected[k + 1].tensor, rtol: c.rtol, atol: c.atol, "\(c.name) gradient of \(names[wrt[k]])",
                        sourceLocation: sourceLocation)
        }
    }
}

extension FixtureCase {
    /// A list of strings from the params.
    func strings(_ key: String) -> [String] {
        guard case .array(let a)? = params[key] else { fatalError("fixture \(name): missing string list \(key)") }
        return a.map { if case .string(let s) = $0 { return s } else { fatalError("fixture \(name): \(key) holds a non-string") } }
    }
    /// A number param, or `fallback` when the fixture leaves the option at PyTorch's default.
    func double(_ key: String, or fallback: Double) -> Double { has(key) ? double(key) : fallback }
}

/// Activations against PyTorch, then against finite differences, then their behaviour.
@Suite struct ActivationTests {
    static let table: [String: FunctionalFixtures.Function] = [
        "leakyRelu": { x, c in x["x"]!.leakyRelu(slope: c.double("slope", or: 0.01)) },
        "elu": { x, c in x["x"]!.elu(alpha: c.double("alpha", or: 1)) },
        "selu": { x, _ in x["x"]!.selu() },
        "gelu": { x, c in x["x"]!.gelu(approximate: c.string("approximate") == "tanh" ? .tanh : .none) },
        "silu": { x, _ in x["x"]!.silu() },
        "softplus": { x, c in x["x"]!.softplus(beta: c.double("beta", or: 1), threshold: c.double("threshold", or: 20)) },
        "mish": { x, _ in x["x"]!.mish() },
        "logSigmoid": { x, _ in x["x"]!.logSigmoid() },
        "softsign": { x, _ in x["x"]!.softsign() },
        "hardTanh": { x, c in x["x"]!.hardTanh(min: c.double("min", or: -1), max: c.double("max", or: 1)) },
        "relu6": { x, _ in x["x"]!.relu6() },
        "hardSigmoid": { x, _ in x["x"]!.hardSigmoid() },
        "hardSwish": { x, _ in x["x"]!.hardSwish() },
        "erf": { x, _ in x["x"]!.erf() },
        "softmax": { x, c in x["x"]!.softmax(axis: c.int("axis")) },
        "logSoftmax": { x, c in x["x"]!.logSoftmax(axis: c.int("axis")) },
    ]

    @Test(arguments: FunctionalFixtures.cases(in: table))
    func matchesPyTorch(_ c: FixtureCase) {
        FunctionalFixtures.check(c, Self.table[c.op]!)
    }

    @Test func everyActivationHasFixtures() {
        let covered = Set(FunctionalFixtures.all.map(\.op))
        #expect(Set(Self.table.keys).subtracting(covered).isEmpty)
    }

    // MARK: Finite differences (Float64)

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let f: @Sendable (Tensor) -> Tensor
        var testDescription: String { name }
        init(_ name: String, _ f: @escaping @Sendable (Tensor) -> Tensor) { self.name = name; self.f = f }
    }

    /// Each activation on [3, 5] standard normals times 3, so the inputs straddle every kink (the
    /// chance of one lying within the finite-difference step of a kink is negligible) and reach
    /// the softplus thresholds.
    static let rows: [Row] = [
        Row("leakyRelu") { $0.leakyRelu(slope: 0.1) },
        Row("elu") { $0.elu(alpha: 0.7) },
        Row("selu") { $0.selu() },
        Row("gelu") { $0.gelu() },
        Row("gelu tanh") { $0.gelu(approximate: .tanh) },
        Row("silu") { $0.silu() },
        Row("softplus") { $0.softplus() },
        Row("softplus beta threshold") { $0.softplus(beta: 3, threshold: 4) },
        Row("mish") { $0.mish() },
        Row("logSigmoid") { $0.logSigmoid() },
        Row("softsign") { $0.softsign() },
        Row("hardTanh") { $0.hardTanh(min: -2, max: 1.5) },
        Row("relu6") { ($0 + 3).relu6() },
        Row("hardSigmoid") { $0.hardSigmoid() },
        Row("hardSwish") { $0.hardSwish() },
        Row("erf") { $0.erf() },
        Row("softmax axis 1") { $0.softmax(axis: 1) },
        Row("softmax axis 0") { $0.softmax(axis: 0) },
        Row("logSoftmax") { $0.logSoftmax(axis: 1) },
    ]

    @Test(arguments: rows)
    func matchesFiniteDifferences(_ row: Row) {
        let x = Tensor.normal([3, 5], dtype: .float64, generator: RandomGenerator(seed: 5)) * 3
        let r = gradCheck([x]) { row.f($0[0]) }[0]
        #expect(r.worstRelativeError < 1e-6, "\(row.name): \(r)")
    }

    /// erf's hand-written derivative is itself differentiable: d²/dx² erf(x) = -4x/√π e^(-x²).
    @Test func erfHasSecondDerivatives() {
        let x = Tensor([-1.5, 0.2, 0.9], dtype: .float64).requiringGrad()
        let dx = gradients(of: x.erf().sum(), with: [x], createGraph: true)[0]
        let d2x = gradients(of: dx.sum(), with: [x])[0].doubles
        let expected = x.doubles.map { -4 * $0 / Double.pi.squareRoot() * Foundation.exp(-$0 * $0) }
        #expect(zip(d2x, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "\(d2x) vs \(expected)")
    }

    // MARK: Behaviour

    @Test func freeFunctionsMatchMethods() {
        let x = Tensor([[-2.0, -0.5, 0.0], [0.5, 2.0, 30.0]])
        let pairs: [(String, Tensor, Tensor)] = [
            ("erf", erf(x), x.erf()), ("leakyRelu", leakyRelu(x, slope: 0.3), x.leakyRelu(slope: 0.3)),
            ("elu", elu(x, alpha: 2), x.elu(alpha: 2)), ("selu", selu(x), x.selu()),
            ("gelu", gelu(x, approximate: .tanh), x.gelu(approximate: .tanh)), ("silu", silu(x), x.silu()),
            ("softplus", softplus(x, beta: 2, threshold: 5), x.softplus(beta: 2, threshold: 5)), ("mish", mish(x), x.mish()),
            ("logSigmoid", logSigmoid(x), x.logSigmoid()), ("softsign", softsign(x), x.softsign()),
            ("hardTanh", hardTanh(x, min: -1, max: 2), x.hardTanh(min: -1, max: 2)), ("relu6", relu6(x), x.relu6()),
            ("hardSigmoid", hardSigmoid(x), x.hardSigmoid()), ("hardSwish", hardSwish(x), x.hardSwish()),
            ("softmax", softmax(x, axis: 0), x.softmax(axis: 0)), ("logSoftmax", logSoftmax(x), x.logSoftmax(axis: -1)),
        ]
        for (name, free, method) in pairs { expectClose(free, method, rtol: 0, atol: 0, name) }
    }

    @Test func integerInputsGiveFloat32() {
        let x = Tensor([-2, 0, 3])
        #expect(x.gelu().dtype == .float32 && x.softmax().dtype == .float32 && x.erf().dtype == .float32)
        expectClose(x.relu6(), Tensor([0.0, 0.0, 3.0]), "relu6 of integers")
        expectClose(x.leakyRelu(slope: 0.5), Tensor([-1.0, 0.0, 3.0]), "leakyRelu of integers")
    }

    @Test func softmaxIsStableAndNormalised() {
        let x = Tensor([[1000.0, 1001.0, -1000.0], [-1e30, 0, 1e30]])
        let s = x.softmax(axis: 1)
        expectClose(s.sum(axis: 1), Tensor([1.0, 1.0]), "rows sum to 1")
        expectClose(s, x.logSoftmax(axis: 1).exp(), "softmax = exp(logSoftmax)")
        // -1000 - (1001 + log(1 + e⁻¹)): finite where softmax underflows to 0.
        #expect(Swift.abs(x.logSoftmax(axis: 1).doubles[2] + 2001.3133) < 1e-3)
    }

    @Test func saturatedInputsGiveFiniteGradients() {
        let x = Tensor([-1000.0, -100.0, 100.0, 1000.0])
        let activations: [(String, (Tensor) -> Tensor)] = [
            ("elu", { $0.elu() }), ("softplus", { $0.softplus() }), ("mish", { $0.mish() }),
            ("logSigmoid", { $0.logSigmoid() }), ("gelu", { $0.gelu() }), ("silu", { $0.silu() }),
        ]
        for (name, f) in activations {
            let (value, g) = valueAndGrad(at: [x]) { f($0[0]).sum() }
            #expect(value.item().isFinite && g[0].floats.allSatisfy { $0.isFinite }, "\(name): \(value) \(g[0])")
        }
    }
}
