import Foundation
import Testing
import MyelinCore
@testable import MyelinData

/// The catalogue's generated sets (TensorFlow Playground's toy 2-D sets) and `Synthetic.gaussians`.
@Suite struct GeneratedSetTests {
    /// The rows of `d` whose label is `label`, as (x1, x2) pairs.
    static func points(_ d: TensorDataset, label: Int) -> [(Double, Double)] {
        let x = d.inputs.floats, y = d.targets.ints
        return y.indices.filter { y[$0] == label }.map { (Double(x[2 * $0]), Double(x[2 * $0 + 1])) }
    }

    @Test func theSameSeedGivesTheSameDataAndOtherSeedsDiffer() {
        for name in GeneratedSet.names {
            let a = GeneratedSet(name, count: 200, seed: 3).points()
            let b = GeneratedSet(name, count: 200, seed: 3).points()
            let c = GeneratedSet(name, count: 200, seed: 4).points()
            #expect(a.inputs.shape == [200, 2] && a.inputs.dtype == .float32 && a.targets.dtype == .int64, "\(name)")
            #expect(a.inputs.floats == b.inputs.floats && a.targets.ints == b.targets.ints, "\(name)")
            #expect(a.inputs.floats != c.inputs.floats, "\(name)")
            // Within about [-1.5, 1.5]^2 at the default noise (the moons' x1 reaches 2, as sklearn's).
            #expect(a.inputs.abs().max().item() < (name == "moons" ? 2.5 : 2), "\(name)")
        }
    }

    @Test func classesAreBalanced() {
        for name in GeneratedSet.names {
            let y = GeneratedSet(name, count: 301).points().targets.ints
            let ones = y.filter { $0 == 1 }.count
            #expect(Set(y) == [0, 1], "\(name)")
            if name == "xor" {
                #expect(abs(ones - 150) < 30, "xor: \(ones) of 301 in class 1")  // labels follow random points
            } else {
                #expect(ones == 150 || ones == 151, "\(name): \(ones) of 301 in class 1")
            }
        }
    }

    @Test func withoutNoiseTheGeometryIsExact() {
        let circles = GeneratedSet("circles", count: 200, noise: 0).points()
        for (label, radius) in [(0, 1.0), (1, 0.5)] {
            let pts = Self.points(circles, label: label)
            #expect(pts.count == 100 && pts.allSatisfy { abs(($0.0 * $0.0 + $0.1 * $0.1).squareRoot() - radius) < 1e-6 })
        }
        let xor = GeneratedSet("xor", count: 200, noise: 0).points()
        for label in [0, 1] {
            #expect(Self.points(xor, label: label).allSatisfy { (($0.0 > 0) != ($0.1 > 0)) == (label == 1) && abs($0.0) <= 1 && abs($0.1) <= 1 })
        }
        // Moons: the upper half of the unit circle, and the lower one moved by (1, 0.5).
        let moons = GeneratedSet("moons", count: 200, noise: 0).points()
        #expect(Self.points(moons, label: 0).allSatisfy { abs($0.0 * $0.0 + $0.1 * $0.1 - 1) < 1e-6 && $0.1 >= -1e-7 })
        #expect(Self.points(moons, label: 1).allSatisfy {
            abs(($0.0 - 1) * ($0.0 - 1) + ($0.1 - 0.5) * ($0.1 - 0.5) - 1) < 1e-6 && $0.1 <= 0.5 + 1e-7
        })
        // Spirals: arm c at angle 4c + 4r for radius r in [0, 1].
        let spirals = GeneratedSet("spirals", count: 200, noise: 0).points()
        for c in [0, 1] {
            let pts = Self.points(spirals, label: c)
            #expect(pts.count == 100)
            for (x, y) in pts {
                let r = (x * x + y * y).squareRoot(), t = 4 * Double(c) + 4 * r
                #expect(r <= 1 + 1e-6 && abs(x - r * sin(t)) < 1e-5 && abs(y - r * cos(t)) < 1e-5)
            }
        }
    }

    @Test func gaussiansSitAtPlaygroundsCentresScaledAndSpreadWithNoise() {
        for (noise, std) in [(0.0, 0.5.squareRoot() / 4), (0.5, 0.5)] {
            let d = Synthetic.gaussians(count: 4000, noise: noise, seed: 1)
            for (label, centre) in [(0, -0.5), (1, 0.5)] {
                let pts = Self.points(d, label: label)
                #expect(pts.count == 2000)
                for axis in 0..<2 {
                    let v = pts.map { axis == 0 ? $0.0 : $0.1 }
                    let mean = v.reduce(0, +) / Double(v.count)
                    let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
                    #expect(abs(mean - centre) < 0.04, "noise \(noise), class \(label): mean \(mean)")
                    #expect(abs(sd / std - 1) < 0.06, "noise \(noise), class \(label): std \(sd), expected \(std)")
                }
            }
        }
        #expect(GeneratedSet("gaussians").points().inputs.floats == Synthetic.gaussians(count: 500, noise: 0, seed: 0).inputs.floats)
    }

    @Test func defaultsValidationAndDescription() throws {
        let s = GeneratedSet("spirals")
        #expect(s.count == 500 && s.noise == 0.2 && s.seed == 0)
        #expect(s.description == "spirals (500 points, noise 0.2, data seed 0)")
        #expect(GeneratedSet("gaussians", count: 40, seed: 7).options == "--data gaussians --count 40 --noise 0 --data-seed 7")
        for name in GeneratedSet.names { try GeneratedSet(name).validate(op: "train") }
        func message(_ set: GeneratedSet) -> String? { thrownMessage { try set.validate(op: "train") } }
        #expect(message(GeneratedSet("spirals", count: 0)) == "[train] --count must be between 2 and 1000000, got 0")
        #expect(message(GeneratedSet("spirals", count: 1_000_001)) == "[train] --count must be between 2 and 1000000, got 1000001")
        #expect(message(GeneratedSet("moons", noise: -0.1)) == "[train] --noise must be in [0, 10], got -0.1")
        #expect(message(GeneratedSet("moons", noise: .nan)) == "[train] --noise must be in [0, 10], got nan")
        #expect(message(GeneratedSet("moons", noise: .infinity)) == "[train] --noise must be in [0, 10], got inf")
        #expect(message(GeneratedSet("spiral")) == "[train] unknown generated data set 'spiral' (known: xor, circles, gaussians, spirals, moons)")
        let json = try JSONEncoder().encode(GeneratedSet("xor", count: 77, noise: 0.3, seed: 9))
        #expect(try JSONDecoder().decode(GeneratedSet.self, from: json) == GeneratedSet("xor", count: 77, noise: 0.3, seed: 9))
    }

    @Test func theCatalogueServesThemSplitLikeItsTables() throws {
        let catalogue = Catalogue(dataDir: nil, environment: [:], allowDownload: false)
        let names = Catalogue.entries.filter(\.isGenerated).map(\.name)
        #expect(names == GeneratedSet.names)
        #expect(catalogue.status("spirals") == nil)
        #expect(try catalogue.locate("spirals") == [:])
        let d = try catalogue.load("spirals")
        #expect(d.train.count == 400 && d.test.count == 100 && d.inputShape == [2] && d.task == .classification)
        #expect(d.classNames == ["0", "1"] && d.featureNames == ["x1", "x2"])
        #expect(d.test.targets.ints.filter { $0 == 1 }.count == 50)  // stratified
        // The same points, split by the split's seed; the points' own seed is the set's.
        let set = GeneratedSet("moons", count: 300, noise: 0.2, seed: 4)
        let a = try catalogue.load(set, seed: 1, testFraction: 0.3), b = try catalogue.load(set, seed: 2, testFraction: 0.3)
        #expect(a.test.count == 90 && a.train.count == 210)
        #expect(try catalogue.load(set, seed: 1, testFraction: 0.3).test.inputs.floats == a.test.inputs.floats)
        #expect(a.test.inputs.floats != b.test.inputs.floats)
        func rows(_ d: CatalogueDataset) -> [[Float]] {
            let x = d.train.inputs.floats + d.test.inputs.floats
            return stride(from: 0, to: x.count, by: 2).map { [x[$0], x[$0 + 1]] }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        #expect(rows(a) == rows(b))
        #expect(thrownMessage { try catalogue.load(GeneratedSet("moons", count: 1)) } == "[data] --count must be between 2 and 1000000, got 1")
        #expect(thrownMessage { try catalogue.load("cifar") }?.hasSuffix("sms-spam, tinyshakespeare, xor, circles, gaussians, spirals, moons)") == true)
    }
}
