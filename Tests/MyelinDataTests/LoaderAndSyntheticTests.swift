import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct LoaderTests {
    let data = TensorDataset(inputs: Tensor.arange(0, 40, dtype: .float32).reshape([10, 1, 2, 2]), targets: Tensor.arange(10))

    func epoch(_ loader: DataLoader) -> [[Float]] { loader.map { $0.inputs.floats + $0.targets.ints.map(Float.init) } }

    @Test func shuffleIsDeterministicPerSeedAndResumable() {
        let a = DataLoader(data, batchSize: 3, shuffle: true, seed: 5)
        let b = DataLoader(data, batchSize: 3, shuffle: true, seed: 5)
        let a1 = epoch(a), a2 = epoch(a)
        #expect(a1 == epoch(b) && a2 == epoch(b))
        #expect(a1 != a2)
        #expect(epoch(DataLoader(data, batchSize: 3, shuffle: true, seed: 6)) != a1)
        // Checkpoint the generator after an epoch, restore it into a fresh loader: same next epoch.
        let state = a.generator.state
        let a3 = epoch(a)
        let c = DataLoader(data, batchSize: 3, shuffle: true, seed: 999)
        c.generator.restore(state)
        #expect(epoch(c) == a3)
        // Without shuffling the order is 0..<n.
        #expect(DataLoader(data, batchSize: 4).flatMap { $0.targets.ints } == Array(0..<10))
    }

    @Test func dropLastAndCounts() {
        let keep = DataLoader(data, batchSize: 4)
        #expect(keep.count == 3 && keep.map { $0.targets.count } == [4, 4, 2])
        let drop = DataLoader(data, batchSize: 4, shuffle: true, dropLast: true)
        #expect(drop.count == 2 && drop.map { $0.targets.count } == [4, 4])
        #expect(DataLoader(data, batchSize: 20, dropLast: true).map { $0 }.isEmpty)
    }

    @Test func prefetchGivesIdenticalBatches() {
        let augment = Compose([RandomCrop(size: 2, padding: 1), RandomHorizontalFlip()])
        let plain = DataLoader(data, batchSize: 3, shuffle: true, seed: 1, transform: { b in
            Batch(inputs: b.inputs * 2, targets: b.targets)
        }).augmenting(augment)
        let fetched = DataLoader(data, batchSize: 3, shuffle: true, seed: 1, transform: { b in
            Batch(inputs: b.inputs * 2, targets: b.targets)
        }, prefetch: true).augmenting(augment)
        for _ in 0..<3 { #expect(epoch(plain) == epoch(fetched)) }
        #expect(plain.generator.state == fetched.generator.state)
        // Stopping early is fine.
        var seen = 0
        for _ in fetched { seen += 1; if seen == 2 { break } }
        #expect(seen == 2)
        // Augmentation differs between epochs and batches but not between identical loaders.
        let e1 = epoch(plain), e2 = epoch(plain)
        #expect(e1 != e2)
    }

    @Test func collateBuildsBatches() {
        var calls = 0
        let loader = DataLoader(data, batchSize: 4, collate: { examples in
            calls += 1
            return Batch(inputs: Tensor.stack(examples.map { $0.input.reshape([-1]) }),
                         targets: Tensor(shape: [examples.count], scalars: examples.map { $0.target.item(as: Int64.self) * 10 }))
        })
        let batches = Array(loader)
        #expect(calls == 3 && batches[0].inputs.shape == [4, 4] && batches[2].targets.ints == [80, 90])
    }

    @Test func prefetchOverALargerDataset() {
        let big = TensorDataset(inputs: Tensor.uniform([1000, 1, 8, 8], generator: RandomGenerator(seed: 0)), targets: Tensor.arange(1000))
        let a = DataLoader(big, batchSize: 64, shuffle: true, seed: 3).augmenting(RandomAffine(maxShift: 2, maxRotationDegrees: 15))
        let b = DataLoader(big, batchSize: 64, shuffle: true, seed: 3, prefetch: true).augmenting(RandomAffine(maxShift: 2, maxRotationDegrees: 15))
        #expect(epoch(a) == epoch(b))
    }
}

@Suite struct SyntheticTests {
    @Test func shapesLabelsAndSeeds() {
        for d in [Synthetic.xor(count: 101, noise: 0.1, seed: 1), Synthetic.circles(count: 101, noise: 0.05, factor: 0.5, seed: 1),
                  Synthetic.moons(count: 101, noise: 0.1, seed: 1)] {
            #expect(d.inputs.shape == [101, 2] && d.inputs.dtype == .float32 && d.targets.dtype == .int64)
            #expect(Set(d.targets.ints) == [0, 1])
        }
        #expect(Synthetic.moons(count: 50, noise: 0.1, seed: 3).inputs.floats == Synthetic.moons(count: 50, noise: 0.1, seed: 3).inputs.floats)
        #expect(Synthetic.moons(count: 50, noise: 0.1, seed: 3).inputs.floats != Synthetic.moons(count: 50, noise: 0.1, seed: 4).inputs.floats)

        // Without noise the geometry is exact.
        let c = Synthetic.circles(count: 40, noise: 0, factor: 0.5, seed: 0)
        for i in 0..<40 {
            let p = c.inputs[i].floats, r = (p[0] * p[0] + p[1] * p[1]).squareRoot()
            #expect(abs(r - (c.targets[i].item() == 0 ? 1 : 0.5)) < 1e-5)
        }
        #expect(c.targets.ints.filter { $0 == 0 }.count == 20)
        let x = Synthetic.xor(count: 200, seed: 0)
        for i in 0..<200 {
            let p = x.inputs[i].floats
            #expect(x.targets[i].item() == ((p[0] > 0) != (p[1] > 0) ? 1 : 0))
        }
        let s = Synthetic.spirals(count: 300, classes: 3, noise: 0.2, seed: 0)
        #expect(s.inputs.shape == [300, 2] && (0..<3).map { k in s.targets.ints.filter { $0 == k }.count } == [100, 100, 100])
        #expect(s.inputs.abs().max().item() <= 1.0001)
        let b = Synthetic.blobs(count: 100, centers: 4, features: 3, spread: 0.5, seed: 2)
        #expect(b.inputs.shape == [100, 3] && (0..<4).map { k in b.targets.ints.filter { $0 == k }.count } == [25, 25, 25, 25])
        // Points stay near their class centre.
        for k in 0..<4 {
            let members = (0..<100).filter { b.targets.ints[$0] == k }
            let pts = b.inputs.indexSelect(axis: 0, indices: Tensor(shape: [members.count], scalars: members.map(Int64.init)))
            #expect(pts.std(axis: 0).floats.allSatisfy { $0 < 1 })
        }
        let r = Synthetic.linearRegression(count: 500, slope: 3, intercept: -1, noise: 0, seed: 0)
        #expect(r.inputs.shape == [500, 1] && r.targets.shape == [500, 1] && r.targets.dtype == .float32)
        #expect(zip(r.inputs.floats, r.targets.floats).allSatisfy { abs(3 * $0 - 1 - $1) < 1e-5 })
        let noisy = Synthetic.linearRegression(count: 2000, slope: 3, intercept: -1, noise: 0.5, seed: 0)
        let residual = noisy.targets - (noisy.inputs * 3 - 1)
        #expect(abs(residual.std().item() - 0.5) < 0.05)
    }
}
