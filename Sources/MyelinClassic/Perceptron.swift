import MyelinCore
/// Rosenblatt's perceptron: w ← w + η·y·x for every misclassified row (y = ±1), step output; more than
/// two classes are learnt one-vs-rest, as scikit-learn does, and predicted by the largest score.
///
/// ```swift
/// var p = Perceptron(learningRate: 1, maxEpochs: 100, seed: 0)
/// p.fit(x, y)
/// p.converged     // true when an epoch made no mistake (false on XOR)
/// ```
public struct Perceptron: Classifier {
    /// η.
    public var learningRate: Double
    /// Most passes over the data.
    public var maxEpochs: Int
    /// Visit the rows in a new random order every epoch.
    public var shuffle: Bool
    /// Seed of the shuffles.
    public var seed: UInt64
    private var index = ClassIndex([])
    /// One weight row per binary problem (one for 2 classes, one per class otherwise).
    public private(set) var weights = FeatureMatrix(zerosRows: 0, cols: 0)
    /// One bias per binary problem.
    public private(set) var biases: [Double] = []
    /// Whether every binary problem reached an epoch without mistakes.
    public private(set) var converged = false
    /// Epochs run (the most over the binary problems).
    public private(set) var epochs = 0

    /// A perceptron with step size `learningRate`.
    public init(learningRate: Double = 1, maxEpochs: Int = 1000, shuffle: Bool = true, seed: UInt64 = 0) {
        require(learningRate > 0 && maxEpochs >= 1, "[Perceptron] learningRate and maxEpochs must be positive")
        (self.learningRate, self.maxEpochs, self.shuffle, self.seed) = (learningRate, maxEpochs, shuffle, seed)
    }

    /// The labels seen in training, sorted.
    public var classes: [Int] { index.classes }

    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        x.requireNoNaN("Perceptron.fit")
        require(x.rows == y.count, "[Perceptron] \(x.rows) rows but \(y.count) labels")
        index = ClassIndex(y)
        require(index.classes.count >= 2, "[Perceptron] needs at least 2 classes, got \(index.classes.count)")
        let coded = index.encode(y)
        let problems = index.classes.count == 2 ? 1 : index.classes.count
        weights = FeatureMatrix(zerosRows: problems, cols: x.cols)
        biases = [Double](repeating: 0, count: problems)
        converged = true
        epochs = 0
        for p in 0..<problems {
            let positive = problems == 1 ? 1 : p
            let signs = coded.map { $0 == positive ? 1.0 : -1.0 }
            let draws = Draws(seed: seed &+ UInt64(p))
            var w = [Double](repeating: 0, count: x.cols), b = 0.0
            var done = false, epoch = 0
            while epoch < maxEpochs && !done {
                epoch += 1
                var mistakes = 0
                for i in shuffle ? draws.permutation(x.rows) : Array(0..<x.rows) {
                    var s = b
                    for j in 0..<x.cols { s += w[j] * x[i, j] }
                    if signs[i] * s <= 0 {
                        mistakes += 1
                        for j in 0..<x.cols { w[j] += learningRate * signs[i] * x[i, j] }
                        b += learningRate * signs[i]
                    }
                }
                done = mistakes == 0
            }
            for j in 0..<x.cols { weights[p, j] = w[j] }
            biases[p] = b
            converged = converged && done
            epochs = Swift.max(epochs, epoch)
        }
    }

    /// w·x + b for every row and binary problem, [rows, problems].
    public func decisionFunction(_ x: FeatureMatrix) -> FeatureMatrix {
        require(x.cols == weights.cols, "[Perceptron] rows have \(x.cols) features, fitted \(weights.cols)")
        var out = FeatureMatrix(rows: x.rows, cols: weights.rows, values: Products.abT(x, weights))
        for i in 0..<x.rows { for p in 0..<weights.rows { out[i, p] += biases[p] } }
        return out
    }

    /// The step output: the positive class where w·x + b > 0 (two classes), else the largest score.
    public func predict(_ x: FeatureMatrix) -> [Int] {
        x.requireNoNaN("Perceptron.predict")
        let s = decisionFunction(x)
        if weights.rows == 1 { return (0..<x.rows).map { index.classes[s[$0, 0] > 0 ? 1 : 0] } }
        return (0..<x.rows).map { index.classes[argmaxRow(s, $0)] }
    }
}
