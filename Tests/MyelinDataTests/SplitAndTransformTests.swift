import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct SplitTests {
    /// 100 examples: input i, label 0 for i < 70, 1 for 70..<90, 2 for 90..<100.
    let data = TensorDataset(inputs: Tensor.arange(100).reshape([100, 1]),
                             targets: Tensor(shape: [100], scalars: (0..<100).map { Int64($0 < 70 ? 0 : $0 < 90 ? 1 : 2) }))

    func ids(_ s: Subset) -> [Int] { s.batch(at: Array(0..<s.count)).inputs.ints }

    @Test func subsetAndRandomSplit() {
        let s = Subset(data, indices: [5, 3, 99])
        #expect(s.count == 3 && s.example(at: 2).input.ints == [99] && s.batch(at: [1, 0]).inputs.ints == [3, 5])
        #expect(s.materialized().inputs.ints == [5, 3, 99])
        let parts = randomSplit(data, counts: [60, 30, 10], seed: 1)
        #expect(parts.map(\.count) == [60, 30, 10])
        let all = parts.flatMap(ids)
        #expect(Set(all).count == 100)
        #expect(randomSplit(data, counts: [60, 30, 10], seed: 1).flatMap(ids) == all)
        #expect(randomSplit(data, counts: [60, 30, 10], seed: 2).flatMap(ids) != all)
        let byFraction = randomSplit(data, fractions: [0.335, 0.335, 0.33], seed: 0)
        #expect(byFraction.map(\.count) == [34, 33, 33] && Set(byFraction.flatMap(ids)).count == 100)
    }

    @Test func trainValidationTestSplits() {
        let s = trainValidationTestSplit(data, validation: 0.1, test: 0.2, stratified: false, seed: 0)
        #expect([s.train.count, s.validation.count, s.test.count] as [Int] == [70, 10, 20])
        let all = ids(s.train) + ids(s.validation) + ids(s.test)
        #expect(Set(all).count == 100)

        let st = trainValidationTestSplit(data, validation: 0.1, test: 0.2, stratified: true, seed: 0)
        #expect([st.train.count, st.validation.count, st.test.count] as [Int] == [70, 10, 20])
        #expect(Set(ids(st.train) + ids(st.validation) + ids(st.test)).count == 100)
        func classCounts(_ sub: Subset) -> [Int] {
            let y = sub.batch(at: Array(0..<sub.count)).targets.ints
            return (0..<3).map { c in y.filter { $0 == c }.count }
        }
        #expect(classCounts(st.train) == [49, 14, 7])
        #expect(classCounts(st.validation) == [7, 2, 1])
        #expect(classCounts(st.test) == [14, 4, 2])
        // Deterministic per seed, and parts are shuffled (classes interleaved).
        #expect(ids(trainValidationTestSplit(data, validation: 0.1, test: 0.2, stratified: true, seed: 0).test) == ids(st.test))
        #expect(ids(st.test) != ids(st.test).sorted())

        let (train, test) = trainTestSplit(data, test: 0.25, stratified: true, seed: 3)
        #expect(train.count == 75 && test.count == 25 && Set(ids(train)).isDisjoint(with: ids(test)))
    }
}

@Suite struct PreprocessingTests {
    @Test func standardizerFitsOnTrainingData() throws {
        let train = Tensor([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
        let s = Standardizer(fitting: train)
        #expect(s.meanValues == [3, 5, 5])
        #expect(abs(s.stdValues[0] - (8.0 / 3).squareRoot()) < 1e-12 && s.stdValues[1] == 1)
        #expect(s.mean.shape == [3] && s.std.dtype == .float32)
        let z = s.transform(train)
        #expect(z.mean(axis: 0).floats.allSatisfy { abs($0) < 1e-6 })
        #expect(z[.all, 1].floats == [0, 0, 0])
        let back = s.inverse(z)
        #expect(zip(back.floats, train.floats).allSatisfy { abs($0 - $1) < 1e-5 })
        let json = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(Standardizer.self, from: json) == s)
        // Images: per-pixel statistics over axis 0.
        #expect(Standardizer(fitting: Tensor.ones([4, 1, 2, 2])).mean.shape == [1, 2, 2])
    }

    @Test func minMaxLabelEncoderOneHot() throws {
        let m = MinMaxScaler(fitting: Tensor([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]]))
        #expect(m.transform(Tensor([[1.0, 10.0], [4.0, 12.0]])).floats == [0.25, 0, 1, 2])
        #expect(m.inverse(Tensor([[0.5, 0.0]])).floats == [2, 10])
        #expect(MinMaxScaler(fitting: Tensor([[0.0], [2.0]]), low: -1, high: 1).transform(Tensor([[1.0]])).floats == [0])

        let enc = LabelEncoder(fitting: ["spam", "ham", "ham", "eggs"])
        #expect(enc.classes == ["eggs", "ham", "spam"])
        #expect(try enc.encode(["ham", "spam"]).ints == [1, 2])
        #expect(enc.decode(Tensor([2, 0])) == ["spam", "eggs"])
        #expect(thrownMessage { try enc.encode(["bacon"]) } == "[label] unseen label 'bacon' (classes: eggs, ham, spam)")
        #expect(try JSONDecoder().decode(LabelEncoder.self, from: JSONEncoder().encode(enc)) == enc)

        let h = oneHot(Tensor([2, 0]), classes: 3)
        #expect(h.shape == [2, 3] && h.dtype == .float32 && h.floats == [0, 0, 1, 1, 0, 0])
    }
}

@Suite struct ImageTransformTests {
    /// Two 1-channel 3x3 images with values 0...8 and 10...18.
    let images = Tensor(shape: [2, 1, 3, 3], scalars: (0..<9).map { Float($0) } + (0..<9).map { Float($0 + 10) })

    @Test func normalizeAndFlip() {
        let n = Normalize(mean: [1], std: [2])(images)
        #expect(n.floats == images.floats.map { ($0 - 1) / 2 })
        let rgb = Tensor.ones([1, 3, 1, 2])
        #expect(Normalize(mean: [0, 1, 2], std: [1, 2, 4])(rgb).floats == [1, 1, 0, 0, -0.25, -0.25])
        let g = RandomGenerator(seed: 0)
        #expect(RandomHorizontalFlip(p: 1)(images, generator: g).floats
                == [2, 1, 0, 5, 4, 3, 8, 7, 6, 12, 11, 10, 15, 14, 13, 18, 17, 16])
        #expect(RandomHorizontalFlip(p: 0)(images, generator: g).floats == images.floats)
        // p = 0.5 flips some images of a batch and not others, reproducibly.
        let many = Tensor.arange(0, 64 * 2, dtype: .float32).reshape([64, 1, 1, 2])
        let a = RandomHorizontalFlip()(many, generator: RandomGenerator(seed: 7))
        #expect(a.floats == RandomHorizontalFlip()(many, generator: RandomGenerator(seed: 7)).floats)
        let flipped = (0..<64).filter { a[$0].floats != many[$0].floats }.count
        #expect(flipped > 16 && flipped < 48)
    }

    @Test func randomCropIsAWindowOfThePaddedImage() {
        #expect(RandomCrop(size: 3)(images, generator: RandomGenerator(seed: 1)).floats == images.floats)
        let padded = images.pad(lastAxes: [1, 1, 1, 1])
        for seed in 0..<10 as Range<UInt64> {
            let out = RandomCrop(size: 3, padding: 1)(images, generator: RandomGenerator(seed: seed))
            #expect(out.shape == [2, 1, 3, 3])
            for i in 0..<2 {
                let windows = (0...2).flatMap { t in (0...2).map { l in padded[i, 0, t..<t + 3, l..<l + 3].floats } }
                #expect(windows.contains(out[i, 0].floats))
            }
        }
    }

    @Test func randomAffine() {
        #expect(RandomAffine(maxShift: 0, maxRotationDegrees: 0)(images, generator: RandomGenerator(seed: 0)).floats == images.floats)
        // Shifts only: the result is the image moved by whole pixels with zeros coming in.
        let one = Tensor(shape: [1, 1, 5, 5], scalars: (0..<25).map { Float($0 + 1) })
        for seed in 0..<8 as Range<UInt64> {
            let out = RandomAffine(maxShift: 1, maxRotationDegrees: 0)(one, generator: RandomGenerator(seed: seed)).floats
            var candidates: [[Float]] = []
            for dy in -1...1 {
                for dx in -1...1 {
                    candidates.append((0..<25).map { k in
                        let y = k / 5 - dy, x = k % 5 - dx
                        return y >= 0 && y < 5 && x >= 0 && x < 5 ? Float(y * 5 + x + 1) : 0
                    })
                }
            }
            #expect(candidates.contains(out))
        }
        // A 90-degree rotation of a centred pattern is exact.
        let r = RandomAffine(maxShift: 0, maxRotationDegrees: 90)
        let out = r(one, generator: RandomGenerator(seed: 0))
        #expect(out.shape == [1, 1, 5, 5] && out[0, 0, 2, 2].item() == 13)
        let composed = Compose([RandomCrop(size: 3, padding: 0), Normalize(mean: [0], std: [2])])(images, generator: RandomGenerator(seed: 0))
        #expect(composed.floats == images.floats.map { $0 / 2 })
    }
}
