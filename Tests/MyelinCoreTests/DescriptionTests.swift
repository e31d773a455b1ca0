import Testing
@testable import MyelinCore
import MyelinTestSupport

@Suite struct DescriptionTests {
    @Test func smallTensors() {
        #expect(Tensor([[1, 2], [3, 4]]).description == "Tensor([[1, 2],\n        [3, 4]], shape: [2, 2], dtype: int64)")
        #expect(Tensor([1.5, -2]).description == "Tensor([ 1.5000, -2.0000], shape: [2], dtype: float32)")
        #expect(Tensor([1.0, 2.0]).description == "Tensor([1., 2.], shape: [2], dtype: float32)")
        #expect(Tensor(scalar: 3.5).description == "Tensor(3.5000, shape: [], dtype: float32)")
        #expect(Tensor([true, false]).description == "Tensor([ true, false], shape: [2], dtype: bool)")
        #expect(Tensor.zeros([0, 3]).description == "Tensor([], shape: [0, 3], dtype: float32)")
        #expect(Tensor([1e-5, 1]).description == "Tensor([1.0000e-05, 1.0000e+00], shape: [2], dtype: float32)")
        #expect(Tensor([Float.nan, .infinity, 1.5]).description == "Tensor([   nan,    inf, 1.5000], shape: [3], dtype: float32)")
    }

    @Test func rank3HasBlankLinesBetweenBlocks() {
        let t = Tensor.arange(8).reshape([2, 2, 2])
        #expect(t.description == "Tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]], shape: [2, 2, 2], dtype: int64)")
    }

    @Test func bigTensorsAreSummarised() {
        let t = Tensor.arange(0, 3000, dtype: .float32).reshape([30, 100])
        let lines = t.description.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines[0] == "Tensor([[   0.,    1.,    2., ...,   97.,   98.,   99.],")
        #expect(lines[3] == "        ...,")
        #expect(lines[6].hasSuffix("2997., 2998., 2999.]], shape: [30, 100], dtype: float32)"))
    }

    @Test func viewsPrintTheirLogicalOrder() {
        let t = Tensor.arange(6).reshape([2, 3])
        #expect(t.T.description == "Tensor([[0, 3],\n        [1, 4],\n        [2, 5]], shape: [3, 2], dtype: int64)")
    }
}
