import Testing
@testable import MyelinCore
import MyelinTestSupport

/// `Tensor` is a value: copies are independent, views read their base's data without copying, and a
/// write to either side of a shared storage copies first (copy-on-write).
@Suite struct ValueSemanticsTests {
    /// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as float32.
    static func grid() -> Tensor { Tensor.arange(12, dtype: .float32).reshape([3, 4]) }
    static let gridValues: [Float] = (0..<12).map(Float.init)

    // MARK: Copies are independent

    @Test func subscriptAssignmentOnACopyLeavesTheOriginal() {
        let x = Self.grid()
        var y = x
        y[1] = Tensor(scalar: -1.0)
        y[0, 0] = Tensor(scalar: 100.0)
        #expect(x.floats == Self.gridValues)
        #expect(y.floats == [100, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11])
    }

    @Test func fillOnACopyLeavesTheOriginal() {
        let x = Self.grid()
        var y = x
        y.fill(7)
        #expect(x.floats == Self.gridValues)
        #expect(y.floats == [Float](repeating: 7, count: 12))
    }

    @Test func compoundAssignmentOnACopyLeavesTheOriginal() {
        let x = Self.grid()
        var y = x
        y += 1
        y *= Tensor([2.0, 2.0, 2.0, 2.0])
        #expect(x.floats == Self.gridValues)
        #expect(y.floats == Self.gridValues.map { ($0 + 1) * 2 })
    }

    @Test func copiesOfACopyAreAllIndependent() {
        var a = Tensor([1, 2, 3])
        var b = a
        var c = b
        b[0] = Tensor(scalar: Int64(10))
        c[1] = Tensor(scalar: Int64(20))
        a[2] = Tensor(scalar: Int64(30))
        #expect(a.ints == [1, 2, 30])
        #expect(b.ints == [10, 2, 3])
        #expect(c.ints == [1, 20, 3])
    }

    @Test func outOfPlaceOpsLeaveTheirInputsUntouched() {
        let x = Self.grid()
        let t = x.T
        let other = Tensor([1.0, 2.0, 3.0, 4.0])
        _ = x + other
        _ = t * 2
        _ = x.exp()
        _ = (-t).relu()
        _ = x.clamp(min: 2, max: 5)
        _ = x.to(.int32)
        _ = x .> 3
        _ = t.pow(other[0..<3])
        _ = x.reshape([-1]).flattened()
        #expect(x.floats == Self.gridValues)
        #expect(other.floats == [1, 2, 3, 4])
        #expect(t.shape == [4, 3])
        #expect(t.contiguous().floats == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    }

    @Test func toTheSameDTypeIsStillAValue() {
        let x = Tensor([1.5, 2.5])
        var y = x.to(.float32)
        y[0] = Tensor(scalar: 9.0)
        #expect(x.floats == [1.5, 2.5])
        #expect(y.floats == [9, 2.5])
    }

    @Test func contiguousOfAContiguousTensorIsStillAValue() {
        let x = Self.grid()
        var y = x.contiguous()
        y.fill(0)
        #expect(x.floats == Self.gridValues)
    }

    @Test func creatingFromAnArrayCopiesIt() {
        var scalars: [Float] = [1, 2, 3]
        let t = Tensor(shape: [3], scalars: scalars)
        scalars[0] = 100
        #expect(t.floats == [1, 2, 3])
    }

    // MARK: Views see their base's data

    @Test func viewsShowTheBaseData() {
        let x = Self.grid()
        #expect(x[0].floats == [0, 1, 2, 3])
        #expect(x[.all, 1].floats == [1, 5, 9])
        #expect(x.T.shape == [4, 3])
        #expect(x.T[1].floats == [1, 5, 9])
        #expect(x.reshape([2, 6])[1].floats == [6, 7, 8, 9, 10, 11])
        #expect(x[1..., .slice(nil, nil, step: -2)].floats == [7, 5, 11, 9])
    }

    @Test func viewsShareStorageWithoutCopying() {
        let x = Self.grid()
        #expect(x[0].storage === x.storage)
        #expect(x.T.storage === x.storage)
        #expect(x.reshape([6, 2]).storage === x.storage)
        #expect(x[.newAxis].storage === x.storage)
        #expect(x[1].unsqueezed(axis: 0).expand([5, 4]).storage === x.storage)
        #expect(x.permute([1, 0]).squeezed().storage === x.storage)
        // A reshape no strides can express copies (NumPy does too).
        #expect(x.T.reshape([12]).storage !== x.storage)
        #expect(x.T.reshape([12]).floats == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    }

    @Test func viewsOfViews() {
        let x = Tensor.arange(24, dtype: .int64).reshape([2, 3, 4])
        let v = x[1]            // [[12..15], [16..19], [20..23]]
        let w = v.T             // [4, 3]
        let u = w[.slice(nil, nil, step: -1), 1...]  // rows reversed, last two columns
        #expect(u.shape == [4, 2])
        #expect(u.ints == [19, 23, 18, 22, 17, 21, 16, 20])
        #expect(u.storage === x.storage)
        let r = u.reshape([8])  // not expressible with strides: a copy
        #expect(r.ints == [19, 23, 18, 22, 17, 21, 16, 20])
        #expect(x[.ellipsis, 0][.all, 2].ints == [8, 20])
        #expect(x[0][1][2].item() == 6)
    }

    // MARK: Copy-on-write between views and bases

    @Test func writingTheBaseLeavesAnExistingViewWithTheOldData() {
        var x = Self.grid()
        let row = x[0]
        let t = x.T
        let r = x.reshape([12])
        x[0, 0] = Tensor(scalar: -5.0)
        x.fill(1)
        #expect(row.floats == [0, 1, 2, 3])
        #expect(t[0].floats == [0, 4, 8])
        #expect(r.floats == Self.gridValues)
        #expect(x.floats == [Float](repeating: 1, count: 12))
    }

    @Test func writingAViewLeavesTheBase() {
        let x = Self.grid()
        var row = x[1]
        row[2] = Tensor(scalar: 99.0)
        var t = x.T
        t[0] = Tensor(scalar: -1.0)
        var e = x[0].expand([2, 4])
        e += 1
        var r = x.reshape([2, 6])
        r.fill(3)
        #expect(x.floats == Self.gridValues)
        #expect(row.floats == [4, 5, 99, 7])
        #expect(t.floats == [-1, -1, -1, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        #expect(e.floats == [1, 2, 3, 4, 1, 2, 3, 4])
    }

    @Test func aViewOfAViewIsIsolatedFromWritesToEitherEnd() {
        var x = Self.grid()
        var v = x[1...]
        let w = v.T
        v[0] = Tensor(scalar: 0.0)
        #expect(x.floats == Self.gridValues)
        #expect(w.floats == [4, 8, 5, 9, 6, 10, 7, 11])
        x[2] = Tensor(scalar: 0.0)
        #expect(w.floats == [4, 8, 5, 9, 6, 10, 7, 11])
        #expect(v.floats == [0, 0, 0, 0, 8, 9, 10, 11])
    }

    @Test func assigningAViewOfItselfReadsTheOldValues() {
        var x = Tensor([1, 2, 3, 4])
        x[1...] = x[..<3]
        #expect(x.ints == [1, 1, 2, 3])
        var y = Self.grid()
        y[.all, .slice(nil, nil, step: -1)] = y
        #expect(y.floats == [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
    }

    @Test func nestedSubscriptAssignmentWritesThrough() {
        var x = Self.grid()
        x[1][2] = Tensor(scalar: 50.0)
        x[.all, 0][2] = Tensor(scalar: -8.0)
        #expect(x.floats == [0, 1, 2, 3, 4, 5, 50, 7, -8, 9, 10, 11])
    }

    @Test func fillThroughASubscriptWritesTheBase() {
        var x = Self.grid()
        x[.all, 1..<3].fill(0)
        #expect(x.floats == [0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0, 11])
    }

    @Test func writingASliceWhoseBaseIsGoneTouchesOnlyTheSlice() {
        var v = Self.grid()[1]           // the only reference to the storage, at an offset
        v.fill(0)
        v[0] = Tensor(scalar: 1.0)
        #expect(v.shape == [4])
        #expect(v.floats == [1, 0, 0, 0])
        var t = Self.grid().T            // unique and strided
        t[0] = Tensor([7.0, 8.0, 9.0])
        #expect(t.floats == [7, 8, 9, 1, 5, 9, 2, 6, 10, 3, 7, 11])
    }

    // MARK: Subscript assignment broadcasts

    @Test func subscriptAssignmentBroadcasts() {
        var x = Tensor.zeros([2, 3, 4], dtype: .int32)
        x[0] = Tensor([1, 2, 3, 4], dtype: .int32)              // [4] into [3, 4]
        x[1, .all, 1..<3] = Tensor([[7], [8], [9]], dtype: .int32)  // [3, 1] into [3, 2]
        x[.ellipsis, 0] = Tensor(scalar: Int32(-1))              // 0-d into [2, 3]
        #expect(x.ints == [-1, 2, 3, 4, -1, 2, 3, 4, -1, 2, 3, 4,
                           -1, 7, 7, 0, -1, 8, 8, 0, -1, 9, 9, 0])
        #expect(x.dtype == .int32)
    }

    @Test func subscriptAssignmentConvertsTheValueDType() {
        var x = Tensor.zeros([3], dtype: .int64)
        x[.ellipsis] = Tensor([1.9, -2.9, 0.5])
        #expect(x.dtype == .int64)
        #expect(x.ints == [1, -2, 0])
        var b = Tensor.zeros([2], dtype: .bool)
        b[1] = Tensor(scalar: 0.25)
        #expect(b.bools == [false, true])
    }

    /// An expanded tensor repeats one element in memory (stride 0); writing one of its positions must
    /// not change the others. NumPy refuses such writes (broadcast views are read-only); with value
    /// semantics the write should land on a private copy.
    @Test func writingIntoAnExpandedTensorChangesOnlyThatPosition() {
        var e = Tensor([1, 2, 3]).expand([2, 3])
        e[0] = Tensor([7, 8, 9])
        #expect(e.ints == [7, 8, 9, 1, 2, 3])
        var f = Tensor(scalar: 5.0).expand([2, 2])
        f[0, 1] = Tensor(scalar: 0.0)
        #expect(f.floats == [5, 0, 5, 5])
    }

    /// The same when the base is still alive (its storage is shared, so copy-on-write copies).
    @Test func writingIntoAnExpandedViewOfALiveBase() {
        let base = Tensor([1, 2, 3])
        var e = base.expand([2, 3])
        e[0] = Tensor([7, 8, 9])
        #expect(e.ints == [7, 8, 9, 1, 2, 3])
        #expect(base.ints == [1, 2, 3])
    }

    // MARK: Contiguity

    @Test func isContiguousFollowsTheLayout() {
        let x = Self.grid()
        #expect(x.isContiguous)
        #expect(!x.T.isContiguous)
        #expect(x.T.contiguous().isContiguous)
        #expect(x[1].isContiguous)
        #expect(x[1...].isContiguous)
        #expect(!x[.all, 1].isContiguous)
        #expect(!x[.all, 1..<3].isContiguous)
        #expect(!x[.slice(nil, nil, step: 2)].isContiguous)
        #expect(!x[.slice(nil, nil, step: -1)].isContiguous)
        #expect(x[.newAxis].isContiguous)
        #expect(x.unsqueezed(axis: 1).isContiguous)
        #expect(!Tensor([1, 2, 3]).expand([2, 3]).isContiguous)
        #expect(Tensor([[1, 2, 3]]).expand([1, 3]).isContiguous)
        // Size-1 axes do not matter: a [1, n] tensor's transpose is laid out contiguously.
        #expect(Tensor([[1, 2, 3]]).T.isContiguous)
        #expect(Tensor(scalar: 1.0).isContiguous)
        #expect(Tensor.zeros([0, 3]).T.isContiguous)
        #expect(x.T.reshape([12]).isContiguous)
    }

    // MARK: Empty and 0-d tensors

    @Test func zeroDimensionalTensors() {
        let s = Tensor(scalar: 2.5)
        #expect(s.shape == [] && s.rank == 0 && s.count == 1)
        #expect(s.item() == 2.5)
        #expect(s.reshape([1, 1]).shape == [1, 1])
        #expect(s.reshape([-1]).floats == [2.5])
        #expect(s[.newAxis].shape == [1])
        #expect(s[.ellipsis].shape == [])
        #expect(s.flattened().shape == [1])
        #expect(s.unsqueezed(axis: 0).squeezed().shape == [])
        #expect(s.T.shape == [])
        #expect(s.expand([2, 3]).floats == [Float](repeating: 2.5, count: 6))
        let sum = s + Tensor(scalar: 1.0)
        #expect(sum.shape == [] && sum.item() == 3.5)
        var t = s
        t[.ellipsis] = Tensor(scalar: 4.0)
        #expect(t.item() == 4 && s.item() == 2.5)
        t.fill(-1)
        #expect(t.item() == -1)
        #expect(Tensor([[7]])[0, 0].shape == [] && Tensor([[7]])[0, 0].item() == 7)
    }

    @Test func emptyTensors() {
        let e = Tensor.zeros([0, 3])
        #expect(e.count == 0 && e.floats.isEmpty)
        #expect(e.reshape([3, 0]).shape == [3, 0])
        #expect(e.reshape([-1]).shape == [0])
        #expect(e.reshape([-1, 3]).shape == [0, 3])
        #expect(e.T.shape == [3, 0])
        #expect(e[.all, 1].shape == [0])
        #expect((e + Tensor([1.0, 2.0, 3.0])).shape == [0, 3])
        #expect(e.exp().shape == [0, 3])
        let x = Self.grid()
        #expect(x[2..<2].shape == [0, 4])
        #expect(x[.slice(3, 0)].shape == [0, 4])
        #expect(x[.all, .slice(0, 4, step: -1)].shape == [3, 0])
        var y = x
        y[1..<1] = Tensor(scalar: 9.0)   // writes nothing
        #expect(y.floats == Self.gridValues)
        var z = Tensor.zeros([0])
        z.fill(3)
        #expect(z.shape == [0])
        #expect(Tensor(shape: [2, 0], scalars: [Float]()).shape == [2, 0])
    }

    // MARK: Creation

    @Test func arangeWithAFloatStep() {
        let a = Tensor.arange(0, 1, step: 0.25)
        #expect(a.dtype == .float32)
        #expect(a.floats == [0, 0.25, 0.5, 0.75])
        let b = Tensor.arange(1, 2, step: 0.3)   // ceil(1 / 0.3) = 4 values, the end excluded
        #expect(b.shape == [4])
        #expect(zip(b.doubles, [1, 1.3, 1.6, 1.9]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        let c = Tensor.arange(5)
        #expect(c.dtype == .int64 && c.ints == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(5, 0, step: -2).ints == [5, 3, 1])
        #expect(Tensor.arange(3, 3).count == 0)
        #expect(Tensor.arange(0, 3, dtype: .float64).dtype == .float64)
    }

    @Test func linspaceHitsBothEndpointsExactly() {
        let l = Tensor.linspace(0, 1, count: 5)
        #expect(l.dtype == .float32)
        #expect(l.floats == [0, 0.25, 0.5, 0.75, 1])
        let m = Tensor.linspace(-0.1, 0.7, count: 9, dtype: .float64).doubles
        #expect(m.first == -0.1 && m.last == 0.7)
        #expect(Tensor.linspace(3, 4, count: 1).floats == [3])
        #expect(Tensor.linspace(3, 4, count: 0).shape == [0])
        #expect(Tensor.linspace(1, 0, count: 3).floats == [1, 0.5, 0])
    }

    @Test func eyeIsRectangular() {
        let e = Tensor.eye(2, 3)
        #expect(e.shape == [2, 3] && e.dtype == .float32)
        #expect(e.floats == [1, 0, 0, 0, 1, 0])
        #expect(Tensor.eye(3, 2, dtype: .int32).ints == [1, 0, 0, 1, 0, 0])
        #expect(Tensor.eye(3).floats == [1, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    @Test func fullOnesAndZeros() {
        let f = Tensor.full([2, 2], value: 7, dtype: .int32)
        #expect(f.dtype == .int32 && f.ints == [7, 7, 7, 7])
        #expect(Tensor.full([3], value: 0.5).floats == [0.5, 0.5, 0.5])
        #expect(Tensor.ones([2], dtype: .bool).bools == [true, true])
        #expect(Tensor.zeros([2, 1], dtype: .float64).doubles == [0, 0])
        #expect(Tensor.full([], value: 3).shape == [])
    }

    @Test func zerosLikeTakesShapeAndDType() {
        let x = Tensor([[1, 2, 3], [4, 5, 6]], dtype: .int32).T    // a view, [3, 2]
        let z = Tensor.zeros(like: x)
        #expect(z.shape == [3, 2] && z.dtype == .int32 && z.ints == [0, 0, 0, 0, 0, 0])
        #expect(z.isContiguous)
        let zf = Tensor.zeros(like: x, dtype: .float64)
        #expect(zf.dtype == .float64 && zf.shape == [3, 2])
        #expect(Tensor.ones(like: x).ints == [1, 1, 1, 1, 1, 1])
        let f = Tensor.full(like: x, value: -2)
        #expect(f.dtype == .int32 && f.ints == [-2, -2, -2, -2, -2, -2])
        #expect(x.ints == [1, 4, 2, 5, 3, 6])
    }

    @Test func literalsPickTheDocumentedDTypes() {
        #expect(Tensor([[1, 2], [3, 4]]).dtype == .int64)
        #expect(Tensor([0.5, 1.5]).dtype == .float32)
        #expect(Tensor([true, false]).dtype == .bool)
        #expect(Tensor([[1, 2]], dtype: .float64).dtype == .float64)
        #expect(Tensor(scalar: 3.5).dtype == .float32)
        #expect(Tensor(scalar: Int32(3)).dtype == .int32)
        #expect(Tensor([[1, 2, 3], [4, 5, 6]]).shape == [2, 3])
    }

    @Test func conversionAccessors() {
        let x = Tensor([[1.5, -2.5], [0, 4]])
        #expect(x.scalars(as: Float.self) == [1.5, -2.5, 0, 4])
        #expect(x.doubles == [1.5, -2.5, 0, 4])
        #expect(x.ints == [1, -2, 0, 4])
        #expect(x.bools == [true, true, false, true])
        #expect(x.T.scalars(as: Float.self) == [1.5, 0, -2.5, 4])
        #expect(x[1, 1].item() == 4)
        #expect(x[0, 1].item(as: Int32.self) == -2)
    }
}
