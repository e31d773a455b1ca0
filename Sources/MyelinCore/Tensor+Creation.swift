/// Swift values that can be written as (possibly nested) array literals of a tensor:
/// `Int`, `Double`, `Float`, `Int32`, `Int64`, `Bool`, and arrays of them.
public protocol TensorLiteral {
    /// The dtype a tensor made from this literal gets when none is given.
    static var literalDType: DType { get }
    /// Appends the shape below this level and the scalars, row-major.
    func collect(shape: inout [Int], depth: Int, into scalars: inout [Double])
    /// Appends the shape and the scalars as exact integers and returns true, for literals of
    /// integers (a Double holds them exactly only up to 2^53); false for others.
    func collectIntegers(shape: inout [Int], depth: Int, into scalars: inout [Int64]) -> Bool
}

extension TensorLiteral {
    public func collectIntegers(shape: inout [Int], depth: Int, into scalars: inout [Int64]) -> Bool { false }
}

extension TensorLiteral where Self: TensorElement {
    public func collect(shape: inout [Int], depth: Int, into scalars: inout [Double]) {
        scalars.append(doubleValue)
    }
}

extension TensorLiteral where Self: BinaryInteger {
    public func collectIntegers(shape: inout [Int], depth: Int, into scalars: inout [Int64]) -> Bool {
        scalars.append(Int64(self))
        return true
    }
}
/// Swift integers make int64 tensors and Swift floating-point numbers make float32 tensors, as
/// Python numbers do in `torch.tensor`.
extension Int: TensorLiteral {
    public static var literalDType: DType { .int64 }
    public func collect(shape: inout [Int], depth: Int, into scalars: inout [Double]) { scalars.append(Double(self)) }
}
extension Double: TensorLiteral { public static var literalDType: DType { .float32 } }
extension Float: TensorLiteral { public static var literalDType: DType { .float32 } }
extension Int32: TensorLiteral { public static var literalDType: DType { .int32 } }
extension Int64: TensorLiteral { public static var literalDType: DType { .int64 } }
extension Bool: TensorLiteral { public static var literalDType: DType { .bool } }

extension Array: TensorLiteral where Element: TensorLiteral {
    public static var literalDType: DType { Element.literalDType }
    public func collect(shape: inout [Int], depth: Int, into scalars: inout [Double]) {
        record(in: &shape, depth: depth)
        for e in self { e.collect(shape: &shape, depth: depth + 1, into: &scalars) }
    }
    public func collectIntegers(shape: inout [Int], depth: Int, into scalars: inout [Int64]) -> Bool {
        record(in: &shape, depth: depth)
        for e in self where !e.collectIntegers(shape: &shape, depth: depth + 1, into: &scalars) { return false }
        // An empty array of integers: its shape is read, and nothing else is needed.
        return true
    }

    /// This level's length in `shape` (the first array at `depth` sets it; the others must match).
    private func record(in shape: inout [Int], depth: Int) {
        if shape.count == depth {
            shape.append(count)
        } else if shape[depth] != count {
            fatalError("[tensor] ragged nested array: \(count) elements where \(shape[depth]) were expected at depth \(depth)")
        }
    }
}

extension Tensor {
    /// A tensor from a nested array literal; the shape is read from the nesting.
    ///
    /// ```swift
    /// let a = Tensor([[1, 2], [3, 4]])                     // int64, shape [2, 2]
    /// let b = Tensor([0.5, 1.5])                           // float32, shape [2]
    /// let c = Tensor([[1, 2], [3, 4]], dtype: .float64)    // float64
    /// ```
    public init<L: TensorLiteral>(_ literal: L, dtype: DType? = nil) {
        let target = dtype ?? L.literalDType
        if target == .int64 || target == .int32 {
            // Integers exactly: through Double, 9007199254740993 became ...992.
            var shape: [Int] = [], integers: [Int64] = []
            if literal.collectIntegers(shape: &shape, depth: 0, into: &integers) {
                let exact = Tensor(shape: shape, scalars: integers)
                self = target == .int64 ? exact : exact.to(.int32)
                return
            }
        }
        var shape: [Int] = []
        var scalars: [Double] = []
        literal.collect(shape: &shape, depth: 0, into: &scalars)
        self.init(shape: shape, doubles: scalars, dtype: dtype ?? L.literalDType)
    }

    /// A tensor of `shape` holding `scalars` in row-major order, with the dtype of `T`.
    ///
    /// ```swift
    /// let t = Tensor(shape: [2, 3], scalars: [Float](repeating: 1, count: 6))
    /// ```
    public init<T: TensorElement>(shape: [Int], scalars: [T]) {
        if let bad = shape.first(where: { $0 < 0 }) {
            fatalError("[tensor] negative dimension \(bad) in shape \(shape)")
        }
        let n = Shape.count(shape)
        if n != scalars.count {
            fatalError("[tensor] shape \(shape) needs \(n) scalars, got \(scalars.count)")
        }
        self.init(uninitializedShape: shape, dtype: T.dtype)
        let p = basePointer(T.self)
        scalars.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { p.update(from: base, count: n) }
        }
    }

    /// A 1-d tensor holding `scalars`, with the dtype of `T`.
    public init<T: TensorElement>(scalars: [T]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// A tensor of `shape` from `Double` values converted to `dtype`.
    public init(shape: [Int], doubles: [Double], dtype: DType) {
        let t = Tensor(shape: shape, scalars: doubles)
        self = t.to(dtype)
    }

    /// A 0-d tensor holding one value.
    ///
    /// ```swift
    /// let s = Tensor(scalar: 3.5)            // float32, shape []
    /// ```
    public init(scalar: Double, dtype: DType = .float32) {
        self.init(uninitializedShape: [], dtype: dtype)
        fillStorage(with: scalar)
    }

    /// A 0-d tensor holding one value of `T`'s dtype.
    public init<T: TensorElement>(scalar: T) {
        self.init(shape: [], scalars: [scalar])
    }

    /// Writes `value` into every element of a fresh contiguous tensor.
    mutating func fillStorage(with value: Double) {
        let n = count
        switch dtype {
        case .float32: basePointer(Float.self).update(repeating: Float(value), count: n)
        case .float64: basePointer(Double.self).update(repeating: value, count: n)
        case .int32: basePointer(Int32.self).update(repeating: Int32(fromDouble: value), count: n)
        case .int64: basePointer(Int64.self).update(repeating: Int64(fromDouble: value), count: n)
        case .bool: basePointer(Bool.self).update(repeating: value != 0, count: n)
        }
    }

    /// A tensor of `shape` with every element equal to `value`.
    ///
    /// ```swift
    /// Tensor.full([2, 2], value: 7, dtype: .int32)
    /// ```
    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32) -> Tensor {
        if let bad = shape.first(where: { $0 < 0 }) {
            fatalError("[full] negative dimension \(bad) in shape \(shape)")
        }
        var t = Tensor(uninitializedShape: shape, dtype: dtype)
        t.fillStorage(with: value)
        return t
    }

    /// Zeros of `shape`: `Tensor.zeros([3, 4])`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        if let bad = shape.first(where: { $0 < 0 }) {
            fatalError("[zeros] negative dimension \(bad) in shape \(shape)")
        }
        return Tensor(storage: TensorStorage(zeroedDType: dtype, count: Shape.count(shape)),
                      shape: shape, strides: Shape.contiguousStrides(shape), offset: 0)
    }

    /// Ones of `shape`: `Tensor.ones([3, 4])`.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, value: 1, dtype: dtype)
    }

    /// Zeros with the shape and dtype (unless given) of `other`.
    public static func zeros(like other: Tensor, dtype: DType? = nil) -> Tensor {
        zeros(other.shape, dtype: dtype ?? other.dtype)
    }

    /// Ones with the shape and dtype (unless given) of `other`.
    public static func ones(like other: Tensor, dtype: DType? = nil) -> Tensor {
        ones(other.shape, dtype: dtype ?? other.dtype)
    }

    /// `value` everywhere, with the shape and dtype (unless given) of `other`.
    public static func full(like other: Tensor, value: Double, dtype: DType? = nil) -> Tensor {
        full(other.shape, value: value, dtype: dtype ?? other.dtype)
    }

    /// Evenly spaced values in `start..<end` by `step`, as NumPy's `arange`.
    ///
    /// ```swift
    /// Tensor.arange(5)                        // int64 [0, 1, 2, 3, 4]
    /// Tensor.arange(0, 1, step: 0.25)         // float32 [0, 0.25, 0.5, 0.75]
    /// ```
    public static func arange(_ start: Double, _ end: Double, step: Double = 1, dtype: DType? = nil) -> Tensor {
        if step == 0 { fatalError("[arange] step must not be 0") }
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let integral = start.rounded() == start && end.rounded() == end && step.rounded() == step
        let d = dtype ?? (integral ? .int64 : .float32)
        return Tensor(shape: [n], doubles: (0..<n).map { start + Double($0) * step }, dtype: d)
    }

    /// `0..<end` as int64 (or `dtype`).
    public static func arange(_ end: Int, dtype: DType = .int64) -> Tensor {
        arange(0, end, dtype: dtype)
    }

    /// `start..<end` by `step` in integers, exact beyond 2^53 (int64, or `dtype`).
    ///
    /// ```swift
    /// Tensor.arange(2, 11, step: 3)   // int64 [2, 5, 8]
    /// ```
    public static func arange(_ start: Int, _ end: Int, step: Int = 1, dtype: DType = .int64) -> Tensor {
        if step == 0 { fatalError("[arange] step must not be 0") }
        let values = Array(Swift.stride(from: Int64(start), to: Int64(end), by: step))
        let exact = Tensor(shape: [values.count], scalars: values)
        return dtype == .int64 ? exact : exact.to(dtype)
    }

    /// `count` evenly spaced values from `start` to `end` inclusive.
    ///
    /// ```swift
    /// Tensor.linspace(0, 1, count: 5)   // [0, 0.25, 0.5, 0.75, 1]
    /// ```
    public static func linspace(_ start: Double, _ end: Double, count: Int, dtype: DType = .float32) -> Tensor {
        if count < 0 { fatalError("[linspace] count must be non-negative, got \(count)") }
        if count == 1 { return Tensor(shape: [1], doubles: [start], dtype: dtype) }
        let step = (end - start) / Double(Swift.max(count - 1, 1))
        // The last point is `end` exactly, as in NumPy.
        let values = (0..<count).map { $0 == count - 1 ? end : start + Double($0) * step }
        return Tensor(shape: [count], doubles: values, dtype: dtype)
    }

    /// The `n x m` identity matrix (`m` defaults to `n`).
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .float32) -> Tensor {
        let cols = m ?? n
        var values = [Double](repeating: 0, count: n * cols)
        for i in 0..<Swift.min(n, cols) { values[i * cols + i] = 1 }
        return Tensor(shape: [n, cols], doubles: values, dtype: dtype)
    }
}
