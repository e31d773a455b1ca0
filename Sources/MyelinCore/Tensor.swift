/// An n-dimensional array of numbers with a run-time dtype, like NumPy's `ndarray`.
///
/// `Tensor` is a value: a copy is independent of the original. Views (`reshape`, `transposed`,
/// slicing, `expand`, ...) share memory with their base without copying; memory is copied only when
/// a tensor whose storage is shared is written to (copy-on-write).
///
/// ```swift
/// let x = Tensor([[1.0, 2.0], [3.0, 4.0]])   // float32, shape [2, 2]
/// let y = (x * 2 + 1).sum(axis: 0)          // [8, 14]
/// print(y)
/// ```
// @unchecked for `gradState` alone (storage is Sendable): autograd state is shared by copies of a tensor, as a PyTorch tensor object is, and a graph is built and differentiated by one thread at a time.
public struct Tensor: @unchecked Sendable {
    var storage: TensorStorage
    /// The size of each dimension.
    public internal(set) var shape: [Int]
    /// The distance in elements between neighbours along each dimension (0 for broadcast dimensions).
    public internal(set) var strides: [Int]
    /// The position of the first element in the storage, in elements.
    var offset: Int
    /// Autograd identity and history; nil for tensors that take no part in differentiation.
    var gradState: GradState?
    /// The value number of this tensor in the running trace (0: not produced by a traced op).
    var traceID = 0


    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    /// A contiguous tensor over fresh, uninitialised storage (on the CPU unless `deviceSlot` says
    /// otherwise); callers write every element.
    init(uninitializedShape shape: [Int], dtype: DType, deviceSlot: Int = 0) {
        self.init(storage: TensorStorage(dtype: dtype, count: Shape.count(shape), deviceSlot: deviceSlot),
                  shape: shape, strides: Shape.contiguousStrides(shape), offset: 0)
    }

    /// A contiguous tensor over fresh storage with the same shape and strides array as `like`.
    ///
    /// Reusing the arrays saves two allocations per op, which is most of a small op's cost.
    @inline(__always)
    init(uninitializedLike like: Tensor, dtype: DType) {
        if like.isContiguous && like.offset == 0 {
            self.init(storage: TensorStorage(dtype: dtype, count: like.count),
                      shape: like.shape, strides: like.strides, offset: 0)
        } else {
            self.init(uninitializedShape: like.shape, dtype: dtype)
        }
    }

    /// The element type.
    public var dtype: DType { storage.dtype }
    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The number of elements (the product of the shape; 1 for a 0-d tensor).
    public var count: Int { Shape.count(shape) }
    /// True when the elements lie in row-major order with no gaps, so the tensor can be read as a flat buffer.
    public var isContiguous: Bool {
        if shape.contains(0) { return true }
        var expected = 1
        var i = shape.count - 1
        while i >= 0 {
            let d = shape[i]
            if d != 1 && strides[i] != expected { return false }
            expected &*= d
            i -= 1
        }
        return true
    }

    /// True when a stride-0 axis of size > 1 makes several elements one memory slot.
    var hasOverlappingElements: Bool {
        for i in 0..<shape.count where strides[i] == 0 && shape[i] > 1 { return true }
        return false
    }

    /// True when no other tensor shares this tensor's memory.
    mutating func isUniquelyReferenced() -> Bool { isKnownUniquelyReferenced(&storage) }

    /// Ensures this tensor owns its memory before a write, copying it when shared (copy-on-write)
    /// or when several of its elements share one memory slot (an expanded, stride-0 view).
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) || hasOverlappingElements {
            // The copy keeps the autograd identity: an optimiser updating a parameter in place
            // (under withoutGrad) must not detach it.
            let identity = gradState
            self = detached().contiguousCopy()
            gradState = identity
        }
    }

    /// Typed pointer to the first element (not to the start of the storage).
    @inline(__always)
    func basePointer<T: TensorElement>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.pointer(as: T.self) + offset
    }

    /// Checks the dtype against a Swift type, trapping with the op's name on a mismatch.
    @inline(__always)
    func checkDType<T: TensorElement>(_: T.Type, _ op: String) {
        if dtype != T.dtype { fatalError("[\(op)] tensor has dtype \(dtype), not \(T.dtype)") }
    }
}
