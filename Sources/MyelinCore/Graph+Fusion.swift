import Foundation
import Synchronization

// Fusion: chains of elementwise ops over float32 or float64 values of one shape (inputs may
// broadcast), and a final sum over everything, become one primitive that reads each input once and
// writes one output: blocks of 1024 elements flow through every op while they are in cache, instead
// of each op making a pass over memory. Eager mode stays unfused.

extension Graph {
    /// This graph simplified (`simplified()`) and with chains of elementwise ops merged into single
    /// loops (see `FusedElementwise`). Values are the same within floating-point rounding: only a
    /// fused sum adds in another order.
    ///
    /// ```swift
    /// let fast = Graph.trace(inputs: [x]) { xs in [(xs[0] * 2 + 1).tanh()] }.fused()
    /// ```
    public func fused() -> Graph { simplified().fusingChains().absorbingExpansions() }

    /// Fused nodes read what an expansion read instead of the expansion, when it has no other
    /// reader: a fused loop broadcasts its inputs itself (a loss's backward expands a column).
    private func absorbingExpansions() -> Graph {
        let base = inputs.count + constants.count
        let uses = useCounts()
        var g = self
        var changed = false
        for (i, n) in nodes.enumerated() where n.primitive is FusedElementwise {
            for (k, v) in n.inputs.enumerated() where v >= base && uses[v] == 1 {
                let producer = nodes[v - base]
                guard producer.primitive is ViewOps.Expand, producer.type.batchAxes.isEmpty else { continue }
                var ins = g.nodes[i].inputs
                ins[k] = producer.inputs[0]
                // Only where the node's shape rule still gives its type (a graph file is checked by it).
                guard (try? n.primitive.outputType(ins.map { g.valueType($0) })) == n.type else { continue }
                g.nodes[i].inputs = ins
                changed = true
            }
        }
        return changed ? g.withoutDeadNodes() : self
    }

    private func fusingChains() -> Graph {
        let base = inputs.count + constants.count
        let uses = useCounts()
        let isOutput = Set(outputs)
        func fusable(_ i: Int) -> Bool {
            let n = nodes[i]
            guard n.primitive.elementwise != nil, FusionKernels.kernel(for: n.primitive) != nil,
                  n.type.dtype == .float32 || n.type.dtype == .float64 else { return false }
            return n.inputs.allSatisfy { valueType($0).dtype == n.type.dtype }
        }
        // Each node's group root (nil: not fused); walk from the last node back, so a root is decided
        // before its producers are offered to it.
        var root = [Int?](repeating: nil, count: nodes.count)
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where fusable(i) {
            if root[i] == nil { root[i] = i }
            let r = root[i]!
            for v in nodes[i].inputs where v >= base {
                let p = v - base
                if root[p] == nil, fusable(p), uses[v] == 1, !isOutput.contains(v), nodes[p].type == nodes[r].type {
                    root[p] = r
                }
            }
        }
        // A root's sole consumer that sums everything joins the group.
        var sumOf: [Int: Int] = [:]   // sum node -> root
        for (i, n) in nodes.enumerated() {
            guard let s = n.primitive as? Reductions.Sum, s.axes == nil, !s.keepDims, n.inputs.count == 1 else { continue }
            let v = n.inputs[0]
            if v >= base, let r = root[v - base], r == v - base, uses[v] == 1, !isOutput.contains(v) { sumOf[i] = r }
        }
        var members: [Int: [Int]] = [:]
        for i in nodes.indices { if let r = root[i] { members[r, default: []].append(i) } }

        var newNodes: [Node] = []
        var renumber = [Int](0..<base)   // old value number -> new
        renumber.reserveCapacity(base + nodes.count)
        for _ in nodes { renumber.append(-1) }
        let summedRoots = Set(sumOf.values)
        for (i, n) in nodes.enumerated() {
            if let r = root[i], i != r { continue }              // emitted with its root
            if let r = root[i], members[r]!.count >= 2 || summedRoots.contains(r) {
                if summedRoots.contains(r) { continue }           // emitted at its sum
                let (prim, ins) = FusedElementwise.make(members[r]!, self, reduce: false)
                newNodes.append(Node(primitive: prim, inputs: ins.map { renumber[$0] }, type: n.type))
                renumber[base + i] = base + newNodes.count - 1
                continue
            }
            if let r = sumOf[i] {
                let (prim, ins) = FusedElementwise.make(members[r]!, self, reduce: true)
                newNodes.append(Node(primitive: prim, inputs: ins.map { renumber[$0] }, type: n.type))
                renumber[base + i] = base + newNodes.count - 1
                continue
            }
            newNodes.append(Node(primitive: n.primitive, inputs: n.inputs.map { renumber[$0] }, type: n.type))
            renumber[base + i] = base + newNodes.count - 1
        }
        return Graph(inputs: inputs, constants: constants, nodes: newNodes, outputs: outputs.map { renumber[$0] })
    }
}

/// Elementwise primitives run over one block as a specialised loop (no per-element dispatch).
struct FusionKernel: Sendable {
    typealias Block<T> = @Sendable (_ a: UnsafePointer<T>, _ b: UnsafePointer<T>?, _ out: UnsafeMutablePointer<T>, _ n: Int) -> Void
    let float: Block<Float>
    let double: Block<Double>

    /// An op's C loop (VectorKernels) as a float32 block loop, when it has one.
    static func float32(_ v: VectorUnaryF32?) -> Block<Float>? {
        guard let v else { return nil }
        return { a, _, o, n in v(a, o, n) }
    }

    static func float32(_ v: VectorBinaryF32?) -> Block<Float>? {
        guard let v else { return nil }
        return { a, b, o, n in v(a, b, o, n) }
    }
}

/// The block loops of every fusable primitive, by name, built where each op's type is known so the
/// compiler specialises each loop with the element function inlined.
enum FusionKernels {
    /// The elementwise ops: each line registers the primitive type (for graph files) and its block loop.
    /// Adding an elementwise op: its type in ElementwiseOps.swift, its method in Tensor+Elementwise.swift,
    /// its line here.
    static let catalogue: (kernels: [String: @Sendable (any Primitive) -> FusionKernel?], types: [String: any Primitive.Type]) = {
        var t: [String: @Sendable (any Primitive) -> FusionKernel?] = [:]
        var types: [String: any Primitive.Type] = [:]
        func floatUnary<Op: FloatUnaryOp>(_: Op.Type) {
            types[Op.name] = Elementwise.FloatUnary<Op>.self
            t[Op.name] = { p in
                guard let op = (p as? Elementwise.FloatUnary<Op>)?.op else { return nil }
                return FusionKernel(float: FusionKernel.float32(Op.vectorF32) ?? { a, _, o, n in for i in 0..<n { o[i] = op(a[i]) } },
                                    double: { a, _, o, n in for i in 0..<n { o[i] = op(a[i]) } })
            }
        }
        func numericUnary<Op: NumericUnaryOp>(_: Op.Type) {
            types[Op.name] = Elementwise.NumericUnary<Op>.self
            t[Op.name] = { p in
                guard let op = (p as? Elementwise.NumericUnary<Op>)?.op else { return nil }
                return FusionKernel(float: FusionKernel.float32(Op.vectorF32) ?? { a, _, o, n in for i in 0..<n { o[i] = op(a[i]) } },
                                    double: { a, _, o, n in for i in 0..<n { o[i] = op(a[i]) } })
            }
        }
        func numericBinary<Op: NumericBinaryOp>(_: Op.Type) {
            types[Op.name] = Elementwise.NumericBinary<Op>.self
            t[Op.name] = { p in
                guard let op = (p as? Elementwise.NumericBinary<Op>)?.op else { return nil }
                return FusionKernel(float: FusionKernel.float32(Op.vectorF32) ?? { a, b, o, n in let b = b!; for i in 0..<n { o[i] = op(a[i], b[i]) } },
                                    double: { a, b, o, n in let b = b!; for i in 0..<n { o[i] = op(a[i], b[i]) } })
            }
        }
        func floatBinary<Op: FloatBinaryOp>(_: Op.Type) {
            types[Op.name] = Elementwise.FloatBinary<Op>.self
            t[Op.name] = { p in
                guard let op = (p as? Elementwise.FloatBinary<Op>)?.op else { return nil }
                return FusionKernel(float: FusionKernel.float32(Op.vectorF32) ?? { a, b, o, n in let b = b!; for i in 0..<n { o[i] = op(a[i], b[i]) } },
                                    double: { a, b, o, n in let b = b!; for i in 0..<n { o[i] = op(a[i], b[i]) } })
            }
        }
        floatUnary(UnaryOps.Erf.self); floatUnary(UnaryOps.Exp.self); floatUnary(UnaryOps.Log.self)
        floatUnary(UnaryOps.Log1p.self); floatUnary(UnaryOps.Sqrt.self); floatUnary(UnaryOps.Rsqrt.self)
        floatUnary(UnaryOps.Sin.self); floatUnary(UnaryOps.Cos.self); floatUnary(UnaryOps.Tanh.self)
        floatUnary(UnaryOps.Sigmoid.self); floatUnary(UnaryOps.Floor.self); floatUnary(UnaryOps.Ceil.self)
        floatUnary(UnaryOps.Round.self); floatUnary(UnaryOps.FiniteOrZero.self)
        floatUnary(UnaryOps.Gelu.self); floatUnary(UnaryOps.GeluTanh.self)
        numericUnary(UnaryOps.Negate.self); numericUnary(UnaryOps.Abs.self); numericUnary(UnaryOps.Square.self)
        numericUnary(UnaryOps.Sign.self); numericUnary(UnaryOps.Relu.self); numericUnary(UnaryOps.Clamp.self)
        numericBinary(BinaryOps.Add.self); numericBinary(BinaryOps.Sub.self); numericBinary(BinaryOps.Mul.self)
        numericBinary(BinaryOps.Maximum.self); numericBinary(BinaryOps.Minimum.self)
        numericBinary(BinaryOps.PassWherePositive.self)
        floatBinary(BinaryOps.Div.self); floatBinary(BinaryOps.Pow.self)
        return (t, types)
    }()

    private static var table: [String: @Sendable (any Primitive) -> FusionKernel?] { catalogue.kernels }

    static func has(_ name: String) -> Bool { table[name] != nil }

    /// `p` applied to `x` through its block loop when every input has the output's float dtype:
    /// contiguous operands of one shape in one pass, others through a one-step fused loop. Nil for
    /// other dtypes (the op's generic path serves them). A graph replay runs elementwise ops here,
    /// where the op's type is not known statically.
    static func apply(_ p: any Primitive, _ x: [Tensor]) -> Tensor? {
        guard let first = x.first, first.dtype == .float32 || first.dtype == .float64,
              x.allSatisfy({ $0.dtype == first.dtype }), let k = kernel(for: p) else { return nil }
        if x.allSatisfy({ $0.shape == first.shape && $0.isContiguous }) {
            let out = Tensor(uninitializedLike: first, dtype: first.dtype)
            func run<T: FloatElement>(_: T.Type, _ f: (UnsafePointer<T>, UnsafePointer<T>?, UnsafeMutablePointer<T>, Int) -> Void) {
                let a = UnsafePointer(x[0].basePointer(T.self)), b = x.count > 1 ? UnsafePointer(x[1].basePointer(T.self)) : nil
                let o = out.basePointer(T.self)
                Threading.parallelChunks(first.count) { lo, hi in f(a + lo, b.map { $0 + lo }, o + lo, hi - lo) }
            }
            if first.dtype == .float32 { run(Float.self, k.float) } else { run(Double.self, k.double) }
            return out
        }
        if first.dtype == .float32, let y = matrixByVector(k.float, x) { return y }
        if first.dtype == .float64, let y = matrixByVector(k.double, x) { return y }
        let step = FusedElementwise.Step(primitive: p, operands: Array(0..<x.count), kernel: k)
        return FusedElementwise(inputCount: x.count, steps: [step], reduce: false).forward(x)
    }

    /// A binary op between a small contiguous matrix and a column ([rows, 1]) or a row ([cols] or
    /// [1, cols]) on either side, row by row through the block loop (a loss's softmax makes these);
    /// nil for other operands. The gathering loop of the general case costs more at this size.
    private static func matrixByVector<T: FloatElement>(_ f: FusionKernel.Block<T>, _ x: [Tensor]) -> Tensor? {
        guard x.count == 2, x[0].isContiguous, x[1].isContiguous else { return nil }
        let full: Int, kind: Shape.MatrixVector
        if let k = Shape.matrixVector(x[1].shape, over: x[0].shape) { (full, kind) = (0, k) }
        else if let k = Shape.matrixVector(x[0].shape, over: x[1].shape) { (full, kind) = (1, k) }
        else { return nil }
        let vector = 1 - full, shape = x[full].shape
        guard x[full].count < Threading.elementwiseGrain else { return nil }
        let rows = shape[0], cols = shape[1], isColumn = kind == .column
        let out = Tensor(uninitializedShape: shape, dtype: T.dtype)
        let m = UnsafePointer(x[full].basePointer(T.self)), w = UnsafePointer(x[vector].basePointer(T.self))
        let o = out.basePointer(T.self)
        let column = UnsafeMutablePointer<T>.allocate(capacity: cols)
        defer { column.deallocate() }
        for r in 0..<rows {
            let vec: UnsafePointer<T>
            if isColumn { column.update(repeating: w[r], count: cols); vec = UnsafePointer(column) } else { vec = w }
            if full == 0 { f(m + r * cols, vec, o + r * cols, cols) } else { f(vec, m + r * cols, o + r * cols, cols) }
        }
        withExtendedLifetime(x) {}
        return out
    }

    static func kernel(for p: any Primitive) -> FusionKernel? { table[p.name].flatMap { $0(p) } }
}

/// How a fused loop reads an input: in place (contiguous, full shape), as one value, or gathered.
enum FusedSource<T: FloatElement> {
    case direct(UnsafeMutablePointer<T>), scalar(T), strided(StridedLoop, UnsafeMutablePointer<T>)
}

/// A chain of elementwise primitives (and optionally a final sum of everything) as one loop.
///
/// Registers 0..<inputs are the inputs; step k writes register inputs + k; the last step's register
/// is the result. Made by `Graph.fused()`; in a graph file it lists its steps by name and attributes.
public struct FusedElementwise: Primitive, Sendable {
    public static let name = "fused"

    struct Step {
        let primitive: any Primitive
        let operands: [Int]
        let kernel: FusionKernel
    }

    let inputCount: Int
    let steps: [Step]
    /// A final sum over every element (the output is 0-d).
    let reduce: Bool
    /// Loops generated for this chain (see `FusedCodegen`), shared by copies of the primitive.
    let generated = FusedCodegen.Slot()

    public var name: String { "fused[" + steps.map(\.primitive.name).joined(separator: ",") + (reduce ? ",sum]" : "]") }

    /// The primitive for nodes `group` (in graph order) of `graph` and the value numbers it reads.
    static func make(_ group: [Int], _ graph: Graph, reduce: Bool) -> (FusedElementwise, [Int]) {
        let base = graph.inputs.count + graph.constants.count
        var external: [Int] = []            // value numbers read from outside the group
        var register: [Int: Int] = [:]      // value number -> register
        var steps: [Step] = []
        for i in group {
            let n = graph.nodes[i]
            for v in n.inputs where register[v] == nil && !group.contains(v - base) {
                register[v] = external.count
                external.append(v)
            }
        }
        for i in group {
            let n = graph.nodes[i]
            steps.append(Step(primitive: n.primitive, operands: n.inputs.map { register[$0]! }, kernel: FusionKernels.kernel(for: n.primitive)!))
            register[base + i] = external.count + steps.count - 1
        }
        return (FusedElementwise(inputCount: external.count, steps: steps, reduce: reduce), external)
    }

    init(inputCount: Int, steps: [Step], reduce: Bool) {
        self.inputCount = inputCount
        self.steps = steps
        self.reduce = reduce
    }

    public func forward(_ x: [Tensor]) -> Tensor { forward(x, generate: FusedCodegen.enabled) }

    /// The steps one by one through `Backends.forward`: a fused chain on a device whose backend
    /// runs the ops but has no fused kernel.
    func forwardStepByStep(_ x: [Tensor]) -> Tensor {
        var registers = x
        for s in steps { registers.append(Backends.forward(s.primitive, s.operands.map { registers[$0] })) }
        return reduce ? Backends.forward(Reductions.Sum(axes: nil, keepDims: false), [registers[registers.count - 1]]) : registers[registers.count - 1]
    }

    /// `generate: false` keeps the block interpreter (tests compare the two).
    func forward(_ x: [Tensor], generate: Bool) -> Tensor {
        switch x[0].dtype {
        case .float64: return run(Double.self, x, generate: false) { $0.double }
        default: return run(Float.self, x, generate: generate) { $0.float }
        }
    }

    static let block = 1024

    private func run<T: FloatElement>(_: T.Type, _ x: [Tensor], generate: Bool,
                                      _ pick: (FusionKernel) -> (UnsafePointer<T>, UnsafePointer<T>?, UnsafeMutablePointer<T>, Int) -> Void) -> Tensor {
        var shape: [Int] = []
        for t in x { shape = Shape.broadcastOrTrap("fused", shape, t.shape) }
        let total = Shape.count(shape)
        if generate, T.self == Float.self, let y = runGenerated(x, shape: shape, total: total) { return y }
        let kernels = steps.map { pick($0.kernel) }
        let operands = steps.map(\.operands)
        let out = Tensor(uninitializedShape: reduce ? [] : shape, dtype: T.dtype)
        // How each input is read: in place (contiguous, full shape), as one value, or gathered.
        let contiguous = x.map { $0.contiguous() }
        let sources: [FusedSource<T>] = zip(x, contiguous).map { t, c in
            if t.count == 1 { return .scalar(c.basePointer(T.self)[0]) }
            if t.shape == shape { return .direct(c.basePointer(T.self)) }
            let loop = StridedLoop(shape: shape, strides: [Shape.broadcastStrides(shape: c.shape, strides: c.strides, to: shape)])
            return .strided(loop, c.basePointer(T.self))
        }
        let dst = out.basePointer(T.self)
        // Step outputs share scratch blocks once no later step reads them, so the blocks in use
        // stay few enough for the first-level cache. A step never writes a block it reads (the
        // C loops would fall back to scalar code for overlapping arrays).
        var lastRead = [Int](repeating: -1, count: steps.count)
        for (s, ops) in operands.enumerated() { for r in ops where r >= x.count { lastRead[r - x.count] = s } }
        var blockOf = [Int](repeating: 0, count: steps.count), free: [Int] = [], blocks = 0
        for s in steps.indices {
            if let b = free.popLast() { blockOf[s] = b } else { blockOf[s] = blocks; blocks += 1 }
            for r in Set(operands[s]) where r >= x.count && lastRead[r - x.count] == s { free.append(blockOf[r - x.count]) }
        }
        let registers = x.count + steps.count
        let scratchBlocks = x.count + blocks
        // Operands as flat arrays (first, second or -1), read without retaining per block.
        let first = operands.map { $0[0] }, second = operands.map { $0.count > 1 ? $0[1] : -1 }
        let partials = ChunkSums()
        Threading.parallelChunks(total, grain: Swift.max(Threading.elementwiseGrain / Swift.max(steps.count, 1), Self.block)) { lo, hi in
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: scratchBlocks * Self.block)
            let p = UnsafeMutablePointer<UnsafeMutablePointer<T>>.allocate(capacity: registers)
            defer { scratch.deallocate(); p.deallocate() }
            for r in 0..<x.count { p[r] = scratch + r * Self.block }
            for s in steps.indices { p[x.count + s] = scratch + (x.count + blockOf[s]) * Self.block }
            for (k, s) in sources.enumerated() { if case .scalar(let v) = s { p[k].update(repeating: v, count: Self.block) } }
            var sum = 0.0
            var start = lo
            kernels.withUnsafeBufferPointer { kernels in
                first.withUnsafeBufferPointer { first in
                    second.withUnsafeBufferPointer { second in
                        while start < hi {
                            let m = Swift.min(Self.block, hi - start)
                            for (k, s) in sources.enumerated() {
                                switch s {
                                case .direct(let base): p[k] = base + start
                                case .scalar: break
                                case .strided(let loop, let base):
                                    let dstK = scratch + k * Self.block, s0 = loop.innerStride(0)
                                    var j = 0
                                    loop.forEachRun(start, start + m) { o, _, _, _, len in
                                        for t in 0..<len { dstK[j + t] = base[o &+ t &* s0] }
                                        j += len
                                    }
                                }
                            }
                            if !reduce { p[registers - 1] = dst + start }
                            for s in 0..<kernels.count {
                                let b = second[s]
                                kernels[s](p[first[s]], b >= 0 ? UnsafePointer(p[b]) : nil, p[x.count + s], m)
                            }
                            if reduce {
                                sum += Self.blockSum(p[registers - 1], m)
                                p[registers - 1] = scratch + (x.count + blockOf[steps.count - 1]) * Self.block
                            }
                            start += m
                        }
                    }
                }
            }
            if reduce { partials.add(lo, sum) }
        }
        withExtendedLifetime(contiguous) {}
        if reduce { dst[0] = T(partials.total) }
        return out
    }

    /// The sum of `m` values of one block, in the element type (as unfused it would be in float32),
    /// widened for adding blocks: how a fused sum adds, interpreted or generated.
    @inline(__always)
    static func blockSum<T: FloatElement>(_ values: UnsafePointer<T>, _ m: Int) -> Double {
        var acc = T.zero
        for t in 0..<m { acc += values[t] }
        return Double(acc)
    }

    /// The partial sums of a fused sum's chunks, added in the order of the chunks (not of their
    /// finishing), so the result does not depend on timing.
    final class ChunkSums: Sendable {
        private let partials = Mutex<[(start: Int, sum: Double)]>([])
        func add(_ start: Int, _ sum: Double) { partials.withLock { $0.append((start, sum)) } }
        var total: Double { partials.withLock { $0.sorted { $0.start < $1.start }.reduce(0) { $0 + $1.sum } } }
    }

    /// The gradient of the unfused steps, replayed on detached copies of the inputs (so a fused graph
    /// gives first derivatives; differentiate the unfused graph for higher ones).
    public func vjp(_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?] {
        let needed = inputs.indices.filter { inputs[$0].requiresGrad }
        let leaves = inputs.map { $0.detached().requiringGrad() }
        let result: Tensor = withGrad {
            var values = leaves
            for s in steps { values.append(Tensor.applyOpened(s.primitive, s.operands.map { values[$0] })) }
            return reduce ? values[values.count - 1].sum() : values[values.count - 1]
        }
        let grads = gradients(of: result, with: needed.map { leaves[$0] }, gradient: gradient.detached())
        var out = [Tensor?](repeating: nil, count: inputs.count)
        for (k, i) in needed.enumerated() { out[i] = grads[k] }
        return out
    }

    public func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        if x.count != inputCount { throw ShapeRuleError("takes \(inputCount) inputs, got \(x.count)") }
        var types = x
        for (k, s) in steps.enumerated() {
            if s.operands.contains(where: { $0 < 0 || $0 >= x.count + k }) { throw ShapeRuleError("step \(k) reads a register not yet written") }
            guard let t = try s.primitive.outputType(s.operands.map { types[$0] }) else { throw ShapeRuleError("step \(k) has no shape rule") }
            types.append(t)
        }
        guard let last = types.last, steps.count > 0, last.dtype == .float32 || last.dtype == .float64 else {
            throw ShapeRuleError("needs at least one float step")
        }
        if x.contains(where: { $0.dtype != last.dtype }) { throw ShapeRuleError("inputs must all be \(last.dtype)") }
        var shape: [Int] = []
        for t in types { shape = try ShapeRules.broadcast(shape, t.shape) }
        if shape != last.shape { throw ShapeRuleError("the result \(last) does not cover the inputs' shape \(shape)") }
        return reduce ? .init(shape: [], dtype: last.dtype) : last
    }

    // MARK: Coding: each step as its primitive's name, attributes and registers.

    struct CodedStep: Codable {
        var op: String
        var attributes: String
        var operands: [Int]
    }
    enum CodingKeys: String, CodingKey { case inputs, steps, reduce }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputCount = try c.decode(Int.self, forKey: .inputs)
        reduce = try c.decode(Bool.self, forKey: .reduce)
        var steps: [Step] = []
        for s in try c.decode([CodedStep].self, forKey: .steps) {
            guard let type = PrimitiveRegistry.type(named: s.op) else {
                throw GraphError(reason: "a fused step uses '\(s.op)', which is not a fusable op")
            }
            func decode<P: Primitive>(_ t: P.Type) throws -> any Primitive { try JSONDecoder().decode(t, from: Data(s.attributes.utf8)) }
            let p = try decode(type)
            guard let kernel = FusionKernels.kernel(for: p) else { throw GraphError(reason: "a fused step uses '\(s.op)', which is not a fusable op") }
            steps.append(Step(primitive: p, operands: s.operands, kernel: kernel))
        }
        self.steps = steps
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputCount, forKey: .inputs)
        try c.encode(reduce, forKey: .reduce)
        func attrs<P: Primitive>(_ p: P) throws -> String { try GraphCoding.attributesJSON(p) }
        try c.encode(try steps.map { CodedStep(op: type(of: $0.primitive).name, attributes: try attrs($0.primitive), operands: $0.operands) },
                     forKey: .steps)
    }
}
