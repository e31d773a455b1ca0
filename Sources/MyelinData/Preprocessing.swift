import MyelinCore

/// Per-feature standardisation `(x - mean) / std`, fitted on training data only (axis 0; a feature
/// with std 0 gets std 1). Population std (divide by N), as scikit-learn's `StandardScaler`.
///
/// ```swift
/// let scaler = Standardizer(fitting: train.inputs)
/// let x = scaler.transform(test.inputs)
/// ```
public struct Standardizer: Codable, Equatable, Sendable {
    /// Per-feature means and standard deviations, as plain arrays (what `Codable` stores).
    public let meanValues: [Double]
    public let stdValues: [Double]
    /// The shape of one example (the fitted tensor's shape without axis 0).
    public let featureShape: [Int]

    /// Fits on `data` `[N, ...]` (any float or int dtype).
    public init(fitting data: Tensor) {
        require(data.rank >= 1 && data.shape[0] > 0, "[standardizer] needs a non-empty [N, ...] tensor, got \(data.shape)")
        let x = data.to(.float64)
        let mean = x.mean(axis: 0)
        let std = x.std(axis: 0, unbiased: false)
        self.meanValues = mean.doubles
        self.stdValues = std.doubles.map { $0 == 0 || !$0.isFinite ? 1 : $0 }
        self.featureShape = Array(data.shape.dropFirst())
    }

    public init(mean: [Double], std: [Double], featureShape: [Int]? = nil) {
        require(mean.count == std.count, "[standardizer] \(mean.count) means but \(std.count) stds")
        self.meanValues = mean
        self.stdValues = std.map { $0 == 0 ? 1 : $0 }
        self.featureShape = featureShape ?? [mean.count]
    }

    /// Means as a float32 tensor of `featureShape`.
    public var mean: Tensor { Tensor(shape: featureShape, doubles: meanValues, dtype: .float32) }
    /// Standard deviations (zeros replaced by 1) as a float32 tensor of `featureShape`.
    public var std: Tensor { Tensor(shape: featureShape, doubles: stdValues, dtype: .float32) }

    /// `(x - mean) / std` in float32, for `x` `[N, ...featureShape]` or one example.
    public func transform(_ x: Tensor) -> Tensor { (x.to(.float32) - mean) / std }
    /// `x * std + mean`.
    public func inverse(_ x: Tensor) -> Tensor { x.to(.float32) * std + mean }
}

/// Per-feature scaling to `[low, high]` (default [0, 1]) from the training minimum and maximum
/// (a constant feature maps to `low`).
public struct MinMaxScaler: Codable, Equatable, Sendable {
    public let minValues: [Double]
    public let maxValues: [Double]
    public let featureShape: [Int]
    public let low: Double
    public let high: Double

    public init(fitting data: Tensor, low: Double = 0, high: Double = 1) {
        require(data.rank >= 1 && data.shape[0] > 0, "[minMaxScaler] needs a non-empty [N, ...] tensor, got \(data.shape)")
        let x = data.to(.float64)
        minValues = x.min(axis: 0).doubles
        maxValues = x.max(axis: 0).doubles
        featureShape = Array(data.shape.dropFirst())
        self.low = low
        self.high = high
    }

    public var min: Tensor { Tensor(shape: featureShape, doubles: minValues, dtype: .float32) }
    public var max: Tensor { Tensor(shape: featureShape, doubles: maxValues, dtype: .float32) }
    private var range: Tensor {
        Tensor(shape: featureShape, doubles: zip(minValues, maxValues).map { $1 - $0 == 0 ? 1 : $1 - $0 }, dtype: .float32)
    }

    public func transform(_ x: Tensor) -> Tensor { (x.to(.float32) - min) / range * (high - low) + low }
    public func inverse(_ x: Tensor) -> Tensor { (x.to(.float32) - low) / (high - low) * range + min }
}

/// String labels to class indices 0..<k, classes sorted (as scikit-learn's `LabelEncoder`).
///
/// ```swift
/// let enc = LabelEncoder(fitting: ["spam", "ham", "ham"])   // classes ["ham", "spam"]
/// let y = try enc.encode(["ham", "spam"])                  // int64 [0, 1]
/// ```
public struct LabelEncoder: Codable, Equatable, Sendable {
    public let classes: [String]
    private let index: [String: Int]

    public init(fitting labels: [String]) {
        self.init(classes: Array(Set(labels)).sorted())
    }

    /// An encoder with these classes in this order.
    public init(classes: [String]) {
        self.classes = classes
        var index: [String: Int] = [:]
        for (i, c) in classes.enumerated() { index[c] = i }
        self.index = index
    }

    enum CodingKeys: String, CodingKey { case classes }
    public init(from decoder: Decoder) throws {
        self.init(classes: try decoder.container(keyedBy: CodingKeys.self).decode([String].self, forKey: .classes))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classes, forKey: .classes)
    }

    /// The index of one label, or nil when it was not seen in fitting.
    public func index(of label: String) -> Int? { index[label] }

    /// Labels as int64 `[n]`; an unseen label throws `[label] unseen label 'x' (classes: a, b)`.
    public func encode(_ labels: [String]) throws -> Tensor {
        var out: [Int64] = []
        out.reserveCapacity(labels.count)
        for l in labels {
            guard let i = index[l] else {
                throw DataError(op: "label", reason: "unseen label '\(l)' (classes: \(classes.joined(separator: ", ")))")
            }
            out.append(Int64(i))
        }
        return Tensor(shape: [labels.count], scalars: out)
    }

    /// Class indices (any integer tensor) back to labels; out-of-range indices trap.
    public func decode(_ indices: Tensor) -> [String] {
        indices.ints.map { i in
            require(i >= 0 && i < classes.count, "[label] class index \(i) is out of range for \(classes.count) classes")
            return classes[i]
        }
    }
}

/// Integer labels `[n]` as float32 one-hot rows `[N, classes]`.
public func oneHot(_ labels: Tensor, classes: Int) -> Tensor {
    labels.to(.int64).oneHot(classes: classes)
}
