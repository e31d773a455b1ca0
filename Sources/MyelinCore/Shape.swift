/// Shape arithmetic shared by every op: strides, broadcasting, axis normalisation.

enum Shape {
    /// Row-major (C order) strides in elements.
    @inline(__always)
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        // Array literals for the common ranks: an array of a count known only at run time also
        // asks malloc for its usable size, twice the cost of the allocation (50 against 25 ns).
        switch shape.count {
        case 1: return [1]
        case 2: return [max(shape[1], 1), 1]
        case 3: return [max(shape[1], 1) &* max(shape[2], 1), max(shape[2], 1), 1]
        default: break
        }
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        var i = shape.count - 1
        while i >= 0 {
            strides[i] = acc
            acc &*= max(shape[i], 1)
            i -= 1
        }
        return strides
    }

    @inline(__always)
    static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n &*= d }
        return n
    }

    /// The NumPy broadcast of two shapes, or nil when a pair of dimensions is neither equal nor 1.

    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        if a == b { return a }
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    static func broadcastOrTrap(_ op: String, _ a: [Int], _ b: [Int]) -> [Int] {
        guard let s = broadcast(a, b) else {
            fatalError("[\(op)] cannot broadcast shapes \(a) and \(b)")
        }
        return s
    }

    /// How a vector broadcasts over a matrix: one value a row, or one row for every row.
    enum MatrixVector { case column, row }

    /// `v` as a column ([rows, 1]) or a row ([cols] or [1, cols]) of `matrix` [rows, cols]; nil for
    /// other shapes, and for the matrix's own shape. The short paths for small matrices (eager,
    /// replayed and generated) read operands this way.
    static func matrixVector(_ v: [Int], over matrix: [Int]) -> MatrixVector? {
        guard matrix.count == 2, v != matrix else { return nil }
        if v == [matrix[0], 1] { return .column }
        if v == [matrix[1]] || v == [1, matrix[1]] { return .row }
        return nil
    }

    /// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (0 on broadcast axes).

    static func broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
        if shape == target { return strides }
        var out = [Int](repeating: 0, count: target.count)
        let lead = target.count - shape.count
        for i in 0..<shape.count where shape[i] != 1 || target[lead + i] == 1 {
            out[lead + i] = shape[i] == 1 ? 0 : strides[i]
        }
        return out
    }

    /// Maps a possibly negative axis into `0..<rank`, trapping with the op's name when out of range.
    @inline(__always)
    static func axis(_ axis: Int, rank: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        if a < 0 || a >= rank {
            fatalError("[\(op)] axis \(axis) is out of range for a tensor of rank \(rank)")
        }
        return a
    }

    /// Normalised, sorted, unique axes; `nil` means all axes.
    static func axes(_ axes: [Int]?, rank: Int, op: String) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        var seen = Set<Int>()
        for a in axes {
            let n = axis(a, rank: rank, op: op)
            if !seen.insert(n).inserted { fatalError("[\(op)] axis \(a) is repeated in \(axes)") }
        }
        return seen.sorted()
    }
}
