import Testing
@testable import MyelinCore
import MyelinTestSupport

@Test func smoke() {
    let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    #expect((x + 1).floats == [2, 3, 4, 5])
}
