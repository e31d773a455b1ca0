import Foundation
import Testing
@testable import MyelinCore

/// The cache of small tensor buffers: sizes map to the classes that fit them, freed blocks come back
/// for the next tensor of their class, and tensors made and dropped on many threads keep their values.
@Suite struct SmallBlocksTests {
    @Test func sizesMapToTheSmallestClassThatHoldsThem() {
        #expect(SmallBlocks.sizeClass(1) == 0 && SmallBlocks.sizeClass(64) == 0)
        #expect(SmallBlocks.sizeClass(65) == 1 && SmallBlocks.sizeClass(128) == 1)
        #expect(SmallBlocks.sizeClass(4096) == 6)
        #expect(SmallBlocks.sizeClass(4097) == nil)
    }

    @Test func aFreedBlockServesTheNextTensorOfItsClass() {
        // Another test's thread may take the block first; a few tries make that unlikely to matter.
        var reused = false
        for _ in 0..<20 where !reused {
            let a = Tensor.zeros([100])                     // 400 bytes: class 3
            let address = a.withUnsafeBufferPointer(as: Float.self) { Int(bitPattern: $0.baseAddress) }
            #expect(address % 64 == 0)
            _ = consume a
            let b = Tensor.ones([120])                      // 480 bytes: the same class
            reused = b.withUnsafeBufferPointer(as: Float.self) { Int(bitPattern: $0.baseAddress) } == address
            #expect(b.floats.allSatisfy { $0 == 1 })
        }
        #expect(reused)
    }

    @Test func tensorsMadeAndDroppedOnManyThreadsKeepTheirValues() async {
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var ok = true
                    for i in 0..<2_000 {
                        let n = 1 + (i * 7 + t) % 1_100      // 4 bytes to 4.4 KB: every class and beyond
                        let x = Tensor(shape: [n], scalars: (0..<n).map { Float($0 + t) })
                        let y = x + 1
                        ok = ok && y.floats == (0..<n).map { Float($0 + t + 1) }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
