import MyelinCore

/// The classic classifiers `myelin train --model` and `myelin compare` fit.
public enum ClassicKind: String, CaseIterable, Codable, Sendable {
    case perceptron, knn, naiveBayes = "naive-bayes", tree, forest

    /// Whether `model` (a `--model` value) names a classic model.
    public static func named(_ model: String) -> ClassicKind? { ClassicKind(rawValue: model) }

    /// `perceptron, knn, naive-bayes, tree, forest`.
    public static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// How a classic model is set up: the kind and the options of the command that apply to it.
///
/// ```swift
/// var s = ClassicSettings(kind: .knn)
/// s.neighbors = 3
/// var model = ClassicModel(s, countData: false)
/// model.fit(x, y)
/// ```
public struct ClassicSettings: Codable, Sendable, Equatable {
    public var kind: ClassicKind
    /// kNN: neighbours that vote (`--neighbors`, default 5).
    public var neighbors: Int = 5
    /// Trees: deepest level (`--max-depth`; nil grows until the leaves are pure, as scikit-learn).
    public var maxDepth: Int?
    /// Forest: trees (`--trees`, default 100).
    public var trees: Int = 100
    /// Perceptron: most passes over the data (`--epochs`, default 100; it stops at the first pass without a mistake).
    public var epochs: Int = 100
    /// Perceptron: step size η (`--lr`, default 1).
    public var learningRate: Double = 1
    /// Perceptron shuffles, tree feature orders, forest bootstraps.
    public var seed: UInt64 = 0
    /// Naive Bayes: `multinomial` (count data) or `gaussian`, chosen from the training data when fitted.
    public var naiveBayes: String?

    public init(kind: ClassicKind) { self.kind = kind }

    /// One line: `knn (k 5, uniform votes, Euclidean distance)`.
    public var text: String {
        switch kind {
        case .perceptron: return "perceptron (Rosenblatt's rule, η \(learningRate), up to \(epochs) passes, one-vs-rest over 3+ classes)"
        case .knn: return "knn (k \(neighbors), uniform votes, Euclidean distance)"
        case .naiveBayes: return "naive-bayes (\(naiveBayes ?? "multinomial or gaussian"))"
        case .tree: return "tree (Gini, max depth \(maxDepth.map(String.init) ?? "none"))"
        case .forest: return "forest (\(trees) trees, Gini, bootstrap, √features per split, max depth \(maxDepth.map(String.init) ?? "none"))"
        }
    }
}

/// A classic classifier of any kind, fitted or not: what a classic run folder saves (`Codable`).
public enum ClassicModel: Codable, Sendable {
    case perceptron(Perceptron)
    case knn(KNearestNeighborsClassifier)
    case multinomialNB(MultinomialNB)
    case gaussianNB(GaussianNB)
    case tree(DecisionTreeClassifier)
    case forest(RandomForestClassifier)

    /// An unfitted model as `settings` say; naive Bayes is multinomial on `countData`, Gaussian otherwise.
    public init(_ settings: ClassicSettings, countData: Bool) {
        switch settings.kind {
        case .perceptron: self = .perceptron(Perceptron(learningRate: settings.learningRate, maxEpochs: settings.epochs, seed: settings.seed))
        case .knn: self = .knn(KNearestNeighborsClassifier(k: settings.neighbors))
        case .naiveBayes: self = countData ? .multinomialNB(MultinomialNB(alpha: 1)) : .gaussianNB(GaussianNB())
        case .tree: self = .tree(DecisionTreeClassifier(maxDepth: settings.maxDepth, seed: settings.seed))
        case .forest: self = .forest(RandomForestClassifier(trees: settings.trees, maxDepth: settings.maxDepth, seed: settings.seed))
        }
    }

    /// `multinomial` or `gaussian` for naive Bayes, nil for the other kinds.
    public var naiveBayesVariant: String? {
        switch self {
        case .multinomialNB: return "multinomial"
        case .gaussianNB: return "gaussian"
        default: return nil
        }
    }

    /// Learns from `x` and the labels `y`.
    public mutating func fit(_ x: FeatureMatrix, _ y: [Int]) {
        switch self {
        case .perceptron(var m): m.fit(x, y); self = .perceptron(m)
        case .knn(var m): m.fit(x, y); self = .knn(m)
        case .multinomialNB(var m): m.fit(x, y); self = .multinomialNB(m)
        case .gaussianNB(var m): m.fit(x, y); self = .gaussianNB(m)
        case .tree(var m): m.fit(x, y); self = .tree(m)
        case .forest(var m): m.fit(x, y); self = .forest(m)
        }
    }

    /// The predicted label of every row.
    public func predict(_ x: FeatureMatrix) -> [Int] {
        switch self {
        case .perceptron(let m): return m.predict(x)
        case .knn(let m): return m.predict(x)
        case .multinomialNB(let m): return m.predict(x)
        case .gaussianNB(let m): return m.predict(x)
        case .tree(let m): return m.predict(x)
        case .forest(let m): return m.predict(x)
        }
    }

    /// Class probabilities [rows, classes] (columns: `classes`); nil for the perceptron, whose output is a step.
    public func predictProbabilities(_ x: FeatureMatrix) -> FeatureMatrix? {
        switch self {
        case .perceptron:
            x.requireNoNaN("Perceptron.predictProbabilities")    // the others check in their own call
            return nil
        case .knn(let m): return m.predictProbabilities(x)
        case .multinomialNB(let m): return m.predictProbabilities(x)
        case .gaussianNB(let m): return m.predictProbabilities(x)
        case .tree(let m): return m.predictProbabilities(x)
        case .forest(let m): return m.predictProbabilities(x)
        }
    }

    /// The labels seen in training, sorted.
    public var classes: [Int] {
        switch self {
        case .perceptron(let m): return m.classes
        case .knn(let m): return m.classes
        case .multinomialNB(let m): return m.classes
        case .gaussianNB(let m): return m.classes
        case .tree(let m): return m.classes
        case .forest(let m): return m.classes
        }
    }

    /// What the fit learnt, for `summary`: `converged after 7 passes`, `31 nodes, depth 6`, ...
    public var fittedText: String {
        switch self {
        case .perceptron(let m):
            return m.converged ? "converged after \(m.epochs) passes (no mistake in the last)"
                               : "did not converge in \(m.epochs) passes (the classes are not linearly separable)"
        case .knn: return "keeps its training set"
        case .multinomialNB(let m): return "word/feature counts of \(m.classes.count) classes (Laplace smoothing α 1)"
        case .gaussianNB(let m): return "a mean and variance per feature for \(m.classes.count) classes"
        case .tree(let m): return "\(m.nodes.feature.count) nodes, depth \(m.nodes.depth)"
        case .forest(let m):
            let nodes = m.estimators.reduce(0) { $0 + $1.nodes.feature.count }
            return "\(m.estimators.count) trees, \(nodes) nodes in all, deepest \(m.estimators.map(\.nodes.depth).max() ?? 0)"
        }
    }

    /// Whether every value is a whole number ≥ 0: counts (word counts), for multinomial naive Bayes.
    public static func isCountData(_ x: FeatureMatrix) -> Bool {
        !x.values.isEmpty && x.values.allSatisfy { $0 >= 0 && $0 == $0.rounded(.towardZero) }
    }
}

extension TreeNodes {
    /// Levels below the root of the deepest leaf (0 for a single leaf).
    public var depth: Int {
        guard !feature.isEmpty else { return 0 }
        var deepest = 0
        var stack = [(0, 0)]
        while let (node, d) = stack.popLast() {
            deepest = Swift.max(deepest, d)
            if left[node] >= 0 { stack.append((left[node], d + 1)) }
            if right[node] >= 0 { stack.append((right[node], d + 1)) }
        }
        return deepest
    }
}
