import Testing
@testable import MyelinCore

/// `Shape.contiguousStrides`: row-major strides, with literal fast paths for ranks 1 to 3.
@Suite struct ShapeStridesTests {
    /// The definition: each stride is the product of the later dimensions, a 0 counted as 1.
    static func reference(_ shape: [Int]) -> [Int] {
        shape.indices.map { i in shape[(i + 1)...].reduce(1) { $0 * max($1, 1) } }
    }

    @Test func everyRankUpToFiveMatchesTheDefinition() {
        let sizes = [0, 1, 2, 3, 7]
        var shapes: [[Int]] = [[]]
        for _ in 1...5 {
            shapes += shapes.filter { $0.count == shapes.last!.count }.flatMap { s in sizes.map { s + [$0] } }
        }
        #expect(shapes.count == 1 + 5 + 25 + 125 + 625 + 3125)
        for shape in shapes {
            #expect(Shape.contiguousStrides(shape) == Self.reference(shape), "shape \(shape)")
        }
        #expect(Tensor.zeros([2, 3, 4]).strides == [12, 4, 1] && Tensor.zeros([5, 0]).strides == [1, 1])
    }
}
