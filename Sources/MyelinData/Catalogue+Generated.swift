import MyelinCore

/// One of the catalogue's generated data sets, the toy 2-D sets of TensorFlow Playground (`xor`,
/// `circles`, `gaussians`, `spirals`, `moons`), with everything that makes its points: how many,
/// how noisy, which seed. Run folders keep it, so `evaluate` and `resume` make the same points again;
/// the values are stored as chosen, so a later change of a default does not change an old run's data.
///
/// The sets (`Synthetic` makes them; inputs `[count, 2]` float32 within about [-1.5, 1.5]² (the
/// moons' x1 from -1 to 2, as sklearn's), int64 labels 0 and 1, classes as equal as the count
/// allows except `xor`'s, whose labels follow its random points):
///
/// | name | points | `noise` (default) |
/// |---|---|---|
/// | `xor` | uniform in [-1, 1]², class 1 where x1 and x2 have different signs | Gaussian std added to the points (0.1) |
/// | `circles` | class 0 on the circle of radius 1, class 1 on radius 0.5 | Gaussian std added (0.1) |
/// | `gaussians` | class 1 around (0.5, 0.5), class 0 around (-0.5, -0.5) | std `sqrt(0.5 + 7·noise) / 4` (0: std 0.18) |
/// | `spirals` | two interleaved arms, radius 0 to 1 | std of the angle's jitter (0.2) |
/// | `moons` | two interleaving half circles (sklearn's `make_moons`) | Gaussian std added (0.1) |
///
/// ```swift
/// let spirals = GeneratedSet("spirals", count: 400)                 // noise 0.2, seed 0
/// try spirals.validate(op: "train")
/// let data = try Catalogue().load(spirals, seed: 0, testFraction: 0.2)  // 320 train, 80 test
/// ```
public struct GeneratedSet: Codable, Equatable, Sendable, CustomStringConvertible {
    /// `xor`, `circles`, `gaussians`, `spirals` or `moons`.
    public var name: String
    /// Points in all, before the split (2 to `maxCount`).
    public var count: Int
    /// How noisy the points are, as the table above says (0 to `maxNoise`).
    public var noise: Double
    /// Seed of the points (the split has its own).
    public var seed: UInt64

    /// The generated sets, in the order `myelin datasets` lists them.
    public static let names = ["xor", "circles", "gaussians", "spirals", "moons"]
    /// Points when no count is given.
    public static let defaultCount = 500
    public static let maxCount = 1_000_000
    /// Far past any useful value (the sets span about 2); keeps float32 values finite.
    public static let maxNoise = 10.0
    /// The noise of each set when none is given: a little, so that the classes touch (`gaussians`:
    /// Playground's default 0, already overlapping slightly).
    public static let defaultNoise: [String: Double] = ["xor": 0.1, "circles": 0.1, "gaussians": 0, "spirals": 0.2, "moons": 0.1]

    /// `name` with `count` points, `noise` (nil: the set's default) and `seed`; `validate` checks it.
    public init(_ name: String, count: Int = GeneratedSet.defaultCount, noise: Double? = nil, seed: UInt64 = 0) {
        self.name = name
        self.count = count
        self.noise = noise ?? Self.defaultNoise[name] ?? 0
        self.seed = seed
    }

    /// Throws a one-line `DataError` starting with `[op]` for an unknown name, a count outside
    /// 2...`maxCount` or a noise outside [0, `maxNoise`] (NaN included).
    public func validate(op: String) throws {
        guard Self.names.contains(name) else {
            throw DataError(op: op, reason: "unknown generated data set '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
        guard count >= 2 && count <= Self.maxCount else {
            throw DataError(op: op, reason: "--count must be between 2 and \(Self.maxCount), got \(count)")
        }
        guard noise.isFinite && noise >= 0 && noise <= Self.maxNoise else {
            throw DataError(op: op, reason: "--noise must be in [0, \(Int(Self.maxNoise))], got \(noise)")
        }
    }

    /// All the points, shuffled, before any split (the set must be valid).
    public func points() -> TensorDataset {
        switch name {
        case "xor": return Synthetic.xor(count: count, noise: noise, seed: seed)
        case "circles": return Synthetic.circles(count: count, noise: noise, factor: 0.5, seed: seed)
        case "gaussians": return Synthetic.gaussians(count: count, noise: noise, seed: seed)
        case "spirals": return Synthetic.spirals(count: count, classes: 2, noise: noise, seed: seed)
        case "moons": return Synthetic.moons(count: count, noise: noise, seed: seed)
        default: fatalError("[GeneratedSet] unknown set '\(name)'; call validate first")
        }
    }

    /// `spirals (500 points, noise 0.2, data seed 0)`.
    public var description: String { "\(name) (\(count) points, noise \(noiseText), data seed \(seed))" }

    /// The options of `myelin train` that make this set: `--data spirals --count 500 --noise 0.2 --data-seed 0`.
    public var options: String { "--data \(name) --count \(count) --noise \(noiseText) --data-seed \(seed)" }

    /// `0`, not `0.0`.
    private var noiseText: String { noise == noise.rounded() && abs(noise) < 1e15 ? String(Int(noise)) : "\(noise)" }
}

extension Catalogue {
    /// A generated set's points split as the tabular sets are: stratified, `testFraction` held out,
    /// drawn with `seed`. Throws `[data] ...` for an invalid set.
    ///
    /// ```swift
    /// let moons = try Catalogue().load(GeneratedSet("moons", noise: 0.3), seed: 1)
    /// ```
    public func load(_ set: GeneratedSet, seed: UInt64 = 0, testFraction: Double = 0.2) throws -> CatalogueDataset {
        try set.validate(op: "data")
        let entry = Catalogue.entry(set.name)!
        let (trainPart, testPart) = trainTestSplit(set.points(), test: testFraction, stratified: true, seed: seed)
        return CatalogueDataset(name: set.name, train: trainPart.materialized(), test: testPart.materialized(),
                                classNames: entry.classes, featureNames: ["x1", "x2"], inputShape: [2], task: .classification)
    }
}
