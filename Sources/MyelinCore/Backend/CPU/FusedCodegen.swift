import CMyelinKernels
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused float32 chains as generated C, compiled at run time: one loop in which every value stays
/// in a register, as PyTorch's Inductor and tinygrad do on CPUs.
///
/// The block interpreter of `FusedElementwise` still passes each 1024-element block through the
/// first-level cache once per step; a generated loop does not, and runs a chain of cheap ops about
/// twice as fast. The loop calls the element functions of `CMyelinKernels/elementwise_ops.h`
/// (the same text the built-in vector loops use), compiled without FMA contraction, so its results
/// are bit for bit the interpreter's and the unfused ops'. Only ops with such a function, contiguous
/// inputs of the full shape or single values, and no final sum are generated; anything else, or no
/// C compiler (`MYELIN_CC`, else `clang`, `cc` or `gcc` on the PATH), keeps the interpreter.
/// `MYELIN_FUSION=interpret` turns generation off. The source holds no user text (op names map to
/// a fixed table; constants are arguments), and is built in a private temporary folder that is
/// removed once the library is loaded.
enum FusedCodegen {
    /// `loop(inputs, scalars, out, lo, hi, cols)`: elements lo..<hi of the chain (`cols`: the
    /// columns of a matrix that row or column operands broadcast over).
    typealias Loop = @convention(c) (UnsafePointer<UnsafePointer<Float>?>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int, Int) -> Void

    /// The C element function of each op that generated loops support, by primitive name.
    static let functions: [String: String] = [
        UnaryOps.Exp.name: "exp_one", UnaryOps.Tanh.name: "tanh_one", UnaryOps.Sigmoid.name: "sigmoid_one",
        UnaryOps.Erf.name: "erf_one", UnaryOps.Gelu.name: "gelu_one", UnaryOps.GeluTanh.name: "gelu_tanh_one",
        UnaryOps.Negate.name: "neg_one", UnaryOps.Abs.name: "abs_one", UnaryOps.Relu.name: "relu_one",
        UnaryOps.Square.name: "square_one",
        BinaryOps.Add.name: "add_one", BinaryOps.Sub.name: "sub_one", BinaryOps.Mul.name: "mul_one",
        BinaryOps.Div.name: "div_one", BinaryOps.Maximum.name: "maximum_one", BinaryOps.Minimum.name: "minimum_one",
        BinaryOps.PassWherePositive.name: "pass_where_positive_one",
    ]

    /// Whether fused graphs may generate code (tests switch it to compare with the interpreter).
    static var enabled: Bool {
        get { _enabled.load(ordering: .relaxed) }
        set { _enabled.store(newValue, ordering: .relaxed) }
    }
    private static let _enabled = Atomic<Bool>(ProcessInfo.processInfo.environment["MYELIN_FUSION"] != "interpret")

    /// The C compiler found at start-up, or nil.
    static let compiler: String? = {
        let env = ProcessInfo.processInfo.environment
        if let cc = env["MYELIN_CC"], !cc.isEmpty { return FileManager.default.isExecutableFile(atPath: cc) ? cc : nil }
        let path = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["clang", "cc", "gcc"] {
            for dir in path where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        }
        return nil
    }()

    /// How many distinct loops this process compiled (tests check that generation ran).
    static var compiledCount: Int { cache.withLock { $0.values.filter { $0 != 0 }.count } }

    /// Loops by source text; 0 records a failed compilation so it is not retried.
    private static let cache = Mutex<[String: Int]>([:])

    /// How a generated loop reads an input: every element, one value, or (for a matrix of `cols`
    /// columns) one value a row or one row for every row.
    enum Operand: UInt64 { case full = 0, scalar = 1, column = 2, row = 3 }

    /// The C source of a chain: registers 0..<inputCount are the inputs (read as `operands[k]`
    /// says), step k writes register inputCount + k, the last is stored. Nil when a step has no C function.
    static func source(steps: [(name: String, operands: [Int])], inputCount: Int, operands: [Operand]) -> String? {
        var lines: [String] = []
        var head: [String] = []
        for k in 0..<inputCount {
            switch operands[k] {
            case .scalar:
                head.append("    const float s\(k) = scal[\(k)];")
                lines.append("        float r\(k) = s\(k);")
            case .full, .column, .row:
                head.append("    const float *restrict x\(k) = in[\(k)];")
                let index = operands[k] == .full ? "i" : operands[k] == .column ? "i / cols" : "i % cols"
                lines.append("        float r\(k) = x\(k)[\(index)];")
            }
        }
        for (k, s) in steps.enumerated() {
            guard let f = functions[s.name], s.operands.allSatisfy({ $0 >= 0 && $0 < inputCount + k }) else { return nil }
            lines.append("        float r\(inputCount + k) = \(f)(" + s.operands.map { "r\($0)" }.joined(separator: ", ") + ");")
        }
        return """
            #pragma STDC FP_CONTRACT OFF
            #if defined(__clang__)
            /* Four vectors in flight, as the built-in loops: tanh's and exp's polynomials are long chains. */
            #define MYELIN_INTERLEAVE _Pragma("clang loop interleave_count(4)")
            #else
            #define MYELIN_INTERLEAVE
            #endif
            \(String(cString: myelin_elementwise_source()))
            void myelin_fused(const float *const *in, const float *scal, float *restrict out, long lo, long hi, long cols) {
            \(head.joined(separator: "\n"))
                MYELIN_INTERLEAVE for (long i = lo; i < hi; i++) {
            \(lines.joined(separator: "\n"))
                    out[i] = r\(inputCount + steps.count - 1);
                }
            }

            """
    }

    /// The compiled loop for `source`, compiling it on first use; nil when generation is off or fails.
    static func loop(source: String) -> Loop? {
        guard enabled, let compiler else { return nil }
        let address = cache.withLock { cache -> Int in
            if let known = cache[source] { return known }
            let made = compile(source, with: compiler)
            cache[source] = made
            return made
        }
        guard address != 0, let raw = UnsafeRawPointer(bitPattern: address) else { return nil }
        return unsafeBitCast(raw, to: Loop.self)
    }

    /// Compiles and loads `source`; the function's address, or 0.
    private static func compile(_ source: String, with compiler: String) -> Int {
        var template = Array((NSTemporaryDirectory() + "/myelin-fused-XXXXXX").utf8CString)
        guard let dirPointer = mkdtemp(&template) else { return 0 }
        let dir = String(cString: dirPointer)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cFile = dir + "/fused.c", library = dir + "/fused.so"
        guard (try? source.write(toFile: cFile, atomically: false, encoding: .utf8)) != nil else { return 0 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        // -march=native: the loop runs where it is compiled; no FMA contraction, no fast-math, so
        // the bits are those of the built-in loops.
        process.arguments = ["-O2", "-march=native", "-ffp-contract=off", "-fno-fast-math", "-w", "-fPIC", "-shared", "-o", library, cFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return 0 }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(handle, "myelin_fused") else { return 0 }
        // The handle stays open for the life of the process: the loop is cached.
        return Int(bitPattern: symbol)
    }
}

extension FusedCodegen {
    /// The loops one fused primitive has compiled, by which of its inputs are single values, so a
    /// replay does not rebuild the source text (0: cannot be generated).
    final class Slot: Sendable {
        let loops = Mutex<[UInt64: Int]>([:])
    }
}

extension FusedElementwise {
    /// The chain through a generated loop, or nil (see `FusedCodegen`): float32, a final sum only
    /// over at most 65,536 elements, every input contiguous with the full shape, a single value, or
    /// a row or column of a matrix of at most 65,536 elements.
    func runGenerated(_ x: [Tensor], shape: [Int], total: Int) -> Tensor? {
        // A chain ending in a sum is generated when small (the loss of a step): its values go to a
        // temporary, then are summed exactly as the interpreter sums its blocks.
        guard !reduce || total <= 1 << 16, x.count <= 32, x.allSatisfy({ $0.dtype == .float32 }) else { return nil }
        // Rows and columns broadcast over small matrices only: their index is a division.
        let cols = shape.count == 2 && total <= 1 << 16 ? shape[1] : 0
        var operands: [FusedCodegen.Operand] = []
        for t in x {
            guard t.isContiguous else { return nil }
            if t.count == 1 { operands.append(.scalar) } else if t.shape == shape { operands.append(.full) }
            else if cols > 0, let kind = Shape.matrixVector(t.shape, over: shape) { operands.append(kind == .column ? .column : .row) }
            else { return nil }
        }
        let mask = operands.enumerated().reduce(UInt64(0)) { $0 | ($1.element.rawValue << (2 * UInt64($1.offset))) }
        let address = generated.loops.withLock { loops -> Int in
            if let known = loops[mask] { return known }
            let made = FusedCodegen.source(steps: steps.map { ($0.primitive.name, $0.operands) }, inputCount: x.count, operands: operands)
                .flatMap(FusedCodegen.loop(source:)).map { unsafeBitCast($0, to: Int.self) } ?? 0
            loops[mask] = made
            return made
        }
        guard address != 0, let raw = UnsafeRawPointer(bitPattern: address) else { return nil }
        let loop = unsafeBitCast(raw, to: FusedCodegen.Loop.self)
        let values = Tensor(uninitializedShape: shape, dtype: .float32)
        let dst = values.basePointer(Float.self)
        let inputs = x.map { UnsafePointer<Float>?(UnsafePointer($0.basePointer(Float.self))) }
        let scalars = x.map { $0.count == 1 ? $0.basePointer(Float.self)[0] : 0 }
        let partials = ChunkSums()
        inputs.withUnsafeBufferPointer { ins in
            scalars.withUnsafeBufferPointer { scal in
                Threading.parallelChunks(total, grain: Swift.max(Threading.elementwiseGrain / Swift.max(steps.count, 1), Self.block)) { lo, hi in
                    loop(ins.baseAddress, scal.baseAddress, dst, lo, hi, cols)
                    guard reduce else { return }
                    var sum = 0.0
                    for start in stride(from: lo, to: hi, by: Self.block) { sum += Self.blockSum(dst + start, Swift.min(Self.block, hi - start)) }
                    partials.add(lo, sum)
                }
            }
        }
        withExtendedLifetime(x) {}
        guard reduce else { return values }
        let out = Tensor(uninitializedShape: [], dtype: .float32)
        out.basePointer(Float.self)[0] = Float(partials.total)
        return out
    }
}
