extension Tensor {
    /// A copy of this tensor converted to `dtype` (the tensor itself when it already has it).
    ///
    /// Floats become integers by truncation toward zero; anything non-zero becomes `true`.
    /// ```swift
    /// Tensor([1.7, -1.7]).to(.int32)   // [1, -1]
    /// ```
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        if Tensor.routed(self) { return Tensor.apply(Convert(dtype: dtype), [self]) }
        let out = converted(to: dtype)
        return Tensor.needsGrad(self) ? out.recorded(Convert(dtype: dtype), [self]) : out
    }

    private func converted(to dtype: DType) -> Tensor {
        switch self.dtype {
        case .float32: return convert(from: Float.self, to: dtype)
        case .float64: return convert(from: Double.self, to: dtype)
        case .int32: return convert(from: Int32.self, to: dtype)
        case .int64: return convert(from: Int64.self, to: dtype)
        case .bool: return convert(from: Bool.self, to: dtype)
        }
    }

    private func convert<T: TensorElement>(from: T.Type, to dtype: DType) -> Tensor {
        // Integer-to-integer goes through Int64 so large values stay exact.
        let exactInts = !self.dtype.isFloatingPoint
        switch dtype {
        case .float32: return mapElements(ElementKernels.ViaDouble<T, Float>())
        case .float64: return mapElements(ElementKernels.ViaDouble<T, Double>())
        case .int32:
            if exactInts { return mapElements(ElementKernels.ViaInt64<T, Int32>()) }
            return mapElements(ElementKernels.ViaDouble<T, Int32>())
        case .int64:
            if exactInts { return mapElements(ElementKernels.ViaInt64<T, Int64>()) }
            return mapElements(ElementKernels.ViaDouble<T, Int64>())
        case .bool: return mapElements(ElementKernels.NonZero<T>())
        }
    }

    /// The elements in row-major order as a Swift array of `T`, which must match the dtype.
    ///
    /// ```swift
    /// Tensor([[1, 2], [3, 4]]).scalars(as: Int64.self)   // [1, 2, 3, 4]
    /// ```
    public func scalars<T: TensorElement>(as type: T.Type) -> [T] {
        checkDType(T.self, "scalars")
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.basePointer(T.self), count: c.count))
    }

    /// The elements in row-major order converted to `Float`.
    public var floats: [Float] { to(.float32).scalars(as: Float.self) }
    /// The elements in row-major order converted to `Double`.
    public var doubles: [Double] { to(.float64).scalars(as: Double.self) }
    /// The elements in row-major order converted to `Int`.
    public var ints: [Int] { to(.int64).scalars(as: Int64.self).map { Int($0) } }
    /// The elements in row-major order converted to `Bool` (non-zero is true).
    public var bools: [Bool] { to(.bool).scalars(as: Bool.self) }

    /// The single element of a one-element tensor, as `T` (converted from the dtype).
    ///
    /// ```swift
    /// Tensor([1.0, 2.0]).sum().item()  // 3.0
    /// ```
    public func item<T: TensorElement>(as type: T.Type = Double.self) -> T {
        if count != 1 { fatalError("[item] tensor of shape \(shape) has \(count) elements, not 1") }
        // int64 to an integer type directly: a Double holds integers exactly only up to 2^53.
        if dtype == .int64 {
            let exact = storage.pointer(as: Int64.self)[offset]
            if T.self == Int64.self { return exact as! T }
        }
        return T(fromDouble: elementAsDouble(at: offset))
    }

    /// The single element as `Double`.
    public func item() -> Double { item(as: Double.self) }

    /// Reads one element (storage index) as `Double`; used by printing and `item`.
    func elementAsDouble(at storageIndex: Int) -> Double {
        switch dtype {
        case .float32: return Double(storage.pointer(as: Float.self)[storageIndex])
        case .float64: return storage.pointer(as: Double.self)[storageIndex]
        case .int32: return Double(storage.pointer(as: Int32.self)[storageIndex])
        case .int64: return Double(storage.pointer(as: Int64.self)[storageIndex])
        case .bool: return storage.pointer(as: Bool.self)[storageIndex] ? 1 : 0
        }
    }

    /// Reads one int64 element exactly (storage index).
    func elementAsInt64(at storageIndex: Int) -> Int64 {
        switch dtype {
        case .int64: return storage.pointer(as: Int64.self)[storageIndex]
        case .int32: return Int64(storage.pointer(as: Int32.self)[storageIndex])
        default: return Int64(fromDouble: elementAsDouble(at: storageIndex))
        }
    }
}

/// A dtype conversion; differentiable between floating-point dtypes (the gradient converts back).
struct Convert: Primitive {
    static let name = "to"
    let dtype: DType
    var name: String { "to(\(dtype))" }
    func forward(_ x: [Tensor]) -> Tensor { x[0].to(dtype) }
    func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] { [g.to(x[0].dtype)] }
}

// MARK: Shape rules (see Primitive.outputType)

extension Convert {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        return .init(shape: x[0].shape, dtype: dtype)
    }
}
