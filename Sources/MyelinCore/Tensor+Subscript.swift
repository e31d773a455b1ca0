/// One entry of a tensor subscript: an index, a slice, every element, a new axis, or "the rest".
public enum TensorIndexItem: Sendable, Codable, Equatable {
    /// One position (negative counts from the end); the axis disappears.
    case at(Int)
    /// `start..<end` by `step`, each part optional; negatives count from the end, as in Python.
    case range(Int?, Int?, step: Int)
    /// Every element of the axis (`.all`).
    case every
    /// A new axis of size 1 (`.newAxis`).
    case insertAxis
    /// As many `.all` as needed to cover the remaining axes (`.ellipsis`).
    case rest
}

/// Anything usable inside `tensor[...]`: `Int`, Swift ranges, `stride(from:to:by:)` and
/// `TensorIndexItem` (`.all`, `.newAxis`, `.ellipsis`, `.slice(1, -1, step: 2)`).
public protocol TensorIndex {
    var indexItem: TensorIndexItem { get }
}

extension TensorIndexItem: TensorIndex {
    public var indexItem: TensorIndexItem { self }
}
extension TensorIndex where Self == TensorIndexItem {
    /// Every element of the axis: `x[.all, 0]`.
    public static var all: TensorIndexItem { .every }
    /// A new axis of size 1: `x[.newAxis]`.
    public static var newAxis: TensorIndexItem { .insertAxis }
    /// The remaining axes: `x[.ellipsis, 0]`.
    public static var ellipsis: TensorIndexItem { .rest }
    /// A Python-style slice: `x[.slice(nil, nil, step: -1)]` reverses an axis.
    public static func slice(_ start: Int?, _ end: Int?, step: Int = 1) -> TensorIndexItem { .range(start, end, step: step) }
}
extension Int: TensorIndex { public var indexItem: TensorIndexItem { .at(self) } }
extension Range: TensorIndex where Bound == Int {
    public var indexItem: TensorIndexItem { .range(lowerBound, upperBound, step: 1) }
}
extension ClosedRange: TensorIndex where Bound == Int {
    public var indexItem: TensorIndexItem { .range(lowerBound, upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension PartialRangeFrom: TensorIndex where Bound == Int {
    public var indexItem: TensorIndexItem { .range(lowerBound, nil, step: 1) }
}
extension PartialRangeUpTo: TensorIndex where Bound == Int {
    public var indexItem: TensorIndexItem { .range(nil, upperBound, step: 1) }
}
extension PartialRangeThrough: TensorIndex where Bound == Int {
    public var indexItem: TensorIndexItem { .range(nil, upperBound == -1 ? nil : upperBound + 1, step: 1) }
}
extension StrideTo: TensorIndex where Element == Int {
    /// `stride(from: 0, to: 10, by: 2)`; reads the stride's bounds through its description-free API.
    public var indexItem: TensorIndexItem {
        var it = makeIterator()
        guard let first = it.next() else { return .range(0, 0, step: 1) }
        let second = it.next()
        let step = second.map { $0 - first } ?? 1
        let last = Array(self).last!
        // Counting down to index 0 must not end at -1, which Python slicing reads as "the last".
        let end = last + (step > 0 ? 1 : -1)
        return .range(first, end < 0 ? nil : end, step: step)
    }
}

extension Tensor {
    /// A view of part of the tensor, NumPy style; shares memory with this tensor.
    ///
    /// ```swift
    /// let x = Tensor.arange(12).reshape([3, 4])
    /// x[0]                  // first row, shape [4]
    /// x[1..., 2]            // rows 1 and 2 of column 2, shape [2]
    /// x[.all, 0..<3]        // first three columns, shape [3, 3]
    /// x[-1, .slice(nil, nil, step: -1)]   // last row reversed
    /// ```
    ///
    /// Assigning through a subscript writes into this tensor (broadcasting the new value):
    /// `x[0] = Tensor.zeros([4])`. When the value or the tensor carries gradients, the tensor
    /// becomes a new recorded value with the slice replaced (views of the old one do not see the
    /// write), so gradients reach both; a leaf that requires gradients cannot be written.
    public subscript(_ items: TensorIndex...) -> Tensor {
        get { view(items.map(\.indexItem)) }
        set { assign(newValue, at: items.map(\.indexItem)) }
    }

    /// The subscript with an array of index items.
    public subscript(items items: [TensorIndex]) -> Tensor {
        get { view(items.map(\.indexItem)) }
        set { assign(newValue, at: items.map(\.indexItem)) }
    }

    func view(_ items: [TensorIndexItem]) -> Tensor {
        if Recording.tracing { return Tensor.apply(Indexing.View(items: items), [self]) }
        let consumed = items.reduce(0) { n, item in
            switch item {
            case .at, .range, .every: return n + 1
            case .insertAxis, .rest: return n
            }
        }
        if consumed > rank {
            fatalError("[index] too many indices: \(consumed) for a tensor of rank \(rank)")
        }
        if items.filter({ if case .rest = $0 { return true } else { return false } }).count > 1 {
            fatalError("[index] at most one ellipsis is allowed")
        }
        var newShape: [Int] = [], newStrides: [Int] = []
        var off = offset
        var axis = 0
        for item in items {
            switch item {
            case .at(let i):
                let n = shape[axis]
                let j = i < 0 ? i + n : i
                if j < 0 || j >= n {
                    fatalError("[index] index \(i) is out of range for axis \(axis) of size \(n)")
                }
                off += j * strides[axis]
                axis += 1
            case .range(let start, let end, let step):
                let (first, length) = Tensor.sliceBounds(start, end, step, size: shape[axis])
                off += first * strides[axis]
                newShape.append(length)
                newStrides.append(strides[axis] * step)
                axis += 1
            case .every:
                newShape.append(shape[axis])
                newStrides.append(strides[axis])
                axis += 1
            case .insertAxis:
                newShape.append(1)
                newStrides.append(0)
            case .rest:
                let rest = rank - consumed
                for _ in 0..<rest {
                    newShape.append(shape[axis])
                    newStrides.append(strides[axis])
                    axis += 1
                }
            }
        }
        while axis < rank {
            newShape.append(shape[axis])
            newStrides.append(strides[axis])
            axis += 1
        }
        let out = Tensor(storage: storage, shape: newShape, strides: newStrides, offset: off)
        return Tensor.needsGrad(self) ? out.recorded(Indexing.View(items: items), [self]) : out
    }

    /// Writing into a tensor the graph may still read would silently corrupt gradients.
    func checkInPlaceWrite(_ op: String) {
        if GradMode.enabled && requiresGrad {
            fatalError("[\(op)] cannot write in place into a tensor that requires gradients while recording; use withoutGrad { } or out-of-place ops such as Tensor.where")
        }
    }

    /// Python's slice semantics: clamps out-of-range bounds; returns the first index and the length.
    static func sliceBounds(_ start: Int?, _ end: Int?, _ step: Int, size n: Int) -> (Int, Int) {
        if step == 0 { fatalError("[index] slice step must not be 0") }
        func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(v, lo), hi) }
        if step > 0 {
            let s = start.map { clamp($0 < 0 ? $0 + n : $0, 0, n) } ?? 0
            let e = end.map { clamp($0 < 0 ? $0 + n : $0, 0, n) } ?? n
            return (s, e > s ? (e - s + step - 1) / step : 0)
        } else {
            let s = start.map { clamp($0 < 0 ? $0 + n : $0, -1, n - 1) } ?? n - 1
            let e = end.map { clamp($0 < 0 ? $0 + n : $0, -1, n - 1) } ?? -1
            return (Swift.max(s, 0), s > e ? (s - e + (-step) - 1) / (-step) : 0)
        }
    }

    mutating func assign(_ value: Tensor, at items: [TensorIndexItem]) {
        if isLeaf { checkInPlaceWrite("index") }
        if Tensor.records(self, value) {
            // A write into a traced value, or one that carries gradients (the value's or this
            // tensor's), becomes a new value, a copy with the slice replaced, recorded so that the
            // gradients reach both, as PyTorch's CopySlices does; an eager write dropped the value's.
            self = Tensor.apply(Indexing.Put(items: items), [self, value])
            return
        }
        makeUnique()
        var target = view(items)
        guard Shape.broadcast(value.shape, target.shape) == target.shape else {
            fatalError("[index] cannot assign a tensor of shape \(value.shape) to a slice of shape \(target.shape)")
        }
        // A value that shares this storage could overlap the target: read it out first.
        let source = value.storage === storage ? value.contiguousCopy() : value
        target.copyElements(from: source)
    }

    /// Writes `value` into every element this tensor shows (through its views' storage, after copy-on-write).
    ///
    /// ```swift
    /// var x = Tensor.zeros([2, 2])
    /// x.fill(3)
    /// ```
    public mutating func fill(_ value: Double) {
        checkInPlaceWrite("fill")
        if Recording.tracing {
            self = Tensor.apply(Indexing.Put(items: [.rest]), [self, Tensor(scalar: value, dtype: dtype)])
            return
        }
        makeUnique()
        copyElements(from: Tensor(scalar: value, dtype: dtype))
    }
}

/// Subscript primitives: a slice (a view) and its transpose, a slice written into a copy.
enum Indexing {
    struct View: Primitive {
        static let name = "index"
        let items: [TensorIndexItem]
        func forward(_ x: [Tensor]) -> Tensor { x[0].view(items) }
        /// The upstream gradient placed into zeros of the base's shape: written straight into them
        /// when nothing records (Put would copy the zeros first: a recurrent layer's outputs are a
        /// slice of one packed tensor, 2 MB of copying a step in lstm_train).
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            if Tensor.records(g) || g.storage.deviceSlot != 0 {
                return [Tensor.apply(Put(items: items), [Tensor.zeros(x[0].shape, dtype: g.dtype), g])]
            }
            if !Recording.tracing, let base = Self.placed(g, in: x[0].shape, at: items) { return [base] }
            var base = Tensor.zeros(x[0].shape, dtype: g.dtype)
            base.assign(g, at: items)
            return [base]
        }

        /// `g` written into a new tensor of `shape` at `items` when they select one contiguous
        /// block (a piece of `split`): only the elements around it are zeroed, not all first.
        static func placed(_ g: Tensor, in shape: [Int], at items: [TensorIndexItem]) -> Tensor? {
            var base = Tensor(uninitializedShape: shape, dtype: g.dtype)
            // The slot's bounds, then the view dropped: assign would copy a shared storage.
            let bounds: (lo: Int, hi: Int)? = {
                let slot = base.view(items)
                guard slot.isContiguous, slot.storage === base.storage else { return nil }
                return (slot.offset - base.offset, slot.offset - base.offset + slot.count)
            }()
            guard let (lo, hi) = bounds else { return nil }
            let width = g.dtype.byteSize
            let bytes = base.storage.data + base.offset * width
            bytes.initializeMemory(as: UInt8.self, repeating: 0, count: lo * width)
            (bytes + hi * width).initializeMemory(as: UInt8.self, repeating: 0, count: (base.count - hi) * width)
            base.assign(g, at: items)
            return base
        }
    }

    /// A copy of the base with `value` (broadcast) written at the slice.
    struct Put: Primitive {
        static let name = "indexPut"
        let items: [TensorIndexItem]
        func forward(_ x: [Tensor]) -> Tensor {
            var out = x[0].contiguousCopy()
            out.assign(x[1].to(x[0].dtype), at: items)
            return out
        }
        func vjp(_ g: Tensor, _ x: [Tensor], _ y: Tensor) -> [Tensor?] {
            let gBase = x[0].requiresGrad ? Tensor.apply(Put(items: items), [g, Tensor.zeros([], dtype: g.dtype)]) : nil
            let gValue = x[1].requiresGrad ? g.view(items).sumTo(x[1].shape) : nil
            return [gBase, gValue]
        }
    }
}

// MARK: Shape rules (see Primitive.outputType)

extension Indexing.View {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 1...1)
        let s = x[0].shape
        let consumed = items.reduce(0) { n, item in
            switch item { case .at, .range, .every: return n + 1; default: return n }
        }
        if consumed > s.count { throw ShapeRuleError("\(consumed) indices for rank \(s.count)") }
        if items.filter({ $0 == .rest }).count > 1 { throw ShapeRuleError("at most one ellipsis is allowed") }
        var out: [Int] = [], axis = 0
        for item in items {
            switch item {
            case .at(let i):
                if i < -s[axis] || i >= s[axis] { throw ShapeRuleError("index \(i) is out of range for axis \(axis) of size \(s[axis])") }
                axis += 1
            case let .range(start, end, step):
                if step == 0 { throw ShapeRuleError("slice step must not be 0") }
                out.append(Tensor.sliceBounds(start, end, step, size: s[axis]).1)
                axis += 1
            case .every:
                out.append(s[axis])
                axis += 1
            case .insertAxis:
                out.append(1)
            case .rest:
                for _ in 0..<(s.count - consumed) { out.append(s[axis]); axis += 1 }
            }
        }
        out += s[axis...]
        return .init(shape: out, dtype: x[0].dtype)
    }
}

extension Indexing.Put {
    func outputType(_ x: [Graph.ValueType]) throws -> Graph.ValueType? {
        try ShapeRules.arity(x, 2...2)
        guard let view = try Indexing.View(items: items).outputType([x[0]]) else { return nil }
        if Shape.broadcast(x[1].shape, view.shape) != view.shape {
            throw ShapeRuleError("cannot write a value of shape \(x[1].shape) into a slice of shape \(view.shape)")
        }
        return x[0]
    }
}
