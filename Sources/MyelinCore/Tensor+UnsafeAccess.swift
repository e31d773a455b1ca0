// Direct access to a tensor's memory, for kernels written outside the core (fused optimiser steps,
// data loaders): the `Array.withUnsafe...` escape hatches, for tensors.

extension Tensor {
    /// Calls `body` with the elements in row-major order (a contiguous copy is made first when needed).
    ///
    /// ```swift
    /// let total = t.withUnsafeBufferPointer(as: Float.self) { $0.reduce(0, +) }
    /// ```
    public func withUnsafeBufferPointer<T: TensorElement, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        checkDType(T.self, "withUnsafeBufferPointer")
        let c = contiguous()
        return try withExtendedLifetime(c) {
            try body(UnsafeBufferPointer(start: c.basePointer(T.self), count: c.count))
        }
    }

    /// Calls `body` with mutable access to the elements in row-major order. The tensor is made
    /// contiguous and unshared first (copy-on-write), so writes change this tensor only; its
    /// autograd identity is kept. Writing into a tensor that requires gradients needs `withoutGrad`.
    ///
    /// ```swift
    /// withoutGrad {
    ///     w.withUnsafeMutableBufferPointer(as: Float.self) { p in for i in p.indices { p[i] *= 0.5 } }
    /// }
    /// ```
    public mutating func withUnsafeMutableBufferPointer<T: TensorElement, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        checkDType(T.self, "withUnsafeMutableBufferPointer")
        checkInPlaceWrite("withUnsafeMutableBufferPointer")
        if !isContiguous {
            let identity = gradState
            self = detached().contiguousCopy()
            gradState = identity
        }
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: basePointer(T.self), count: count))
    }
}
