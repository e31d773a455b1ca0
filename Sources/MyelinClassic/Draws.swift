import MyelinCore

/// Random draws for the classic models, from Myelin's seeded `RandomGenerator` through its public tensor constructors.
struct Draws {
    let generator: RandomGenerator
    init(seed: UInt64) { generator = RandomGenerator(seed: seed) }

    /// `count` uniform numbers in [0, 1).
    func uniform(_ count: Int) -> [Double] {
        count == 0 ? [] : Tensor.uniform([count], dtype: .float64, generator: generator).doubles
    }

    /// A uniform integer in 0..<bound.
    func int(below bound: Int) -> Int { Tensor.randint(0, bound, shape: [1], generator: generator).ints[0] }

    /// `count` uniform integers in 0..<bound.
    func ints(below bound: Int, count: Int) -> [Int] {
        count == 0 ? [] : Tensor.randint(0, bound, shape: [count], generator: generator).ints
    }

    /// A random order of 0..<n.
    func permutation(_ n: Int) -> [Int] { n == 0 ? [] : Tensor.permutation(n, generator: generator).ints }

    /// A fresh seed for a child stream (a restart, a tree).
    func seed() -> UInt64 { UInt64(truncatingIfNeeded: Tensor.randint(0, Int(Int32.max), shape: [2], generator: generator).ints.reduce(0) { $0 &* 2_147_483_647 &+ $1 }) }
}
