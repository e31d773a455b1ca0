import MyelinCore

/// A word and how close it is to a query, by cosine similarity.
public struct Neighbour: Sendable, Equatable, CustomStringConvertible {
    public let word: String
    /// Cosine similarity in [-1, 1] (0 against a zero vector).
    public let similarity: Float

    public init(word: String, similarity: Float) {
        self.word = word
        self.similarity = similarity
    }

    public var description: String { "\(word) \(similarity)" }
}

/// Words and their vectors (from `SkipGram`, or read from a word2vec/GloVe text file), with
/// nearest neighbours and analogies by cosine similarity.
///
/// ```swift
/// let vectors = try WordVectors.read(path: "run/vectors.txt")
/// try vectors.nearest("king", k: 5)                   // [king's nearest five]
/// try vectors.analogy("king", "man", "woman")         // king - man + woman: [queen ...]
/// let embed = Embedding(vectors.count, vectors.dimension)   // then load `vectors.tensor`
/// ```
public struct WordVectors: Sendable, Equatable {
    /// The words, in file (or frequency) order.
    public let words: [String]
    public let dimension: Int
    /// The vectors, row-major: word `i` is `values[i * dimension ..< (i + 1) * dimension]`.
    public let values: [Float]
    private let index: [String: Int]
    /// The vectors scaled to length 1 (zero vectors stay zero), for cosine similarity.
    private let unit: [Float]

    /// Vectors for `words`; a count that does not match, a duplicate word or `dimension < 1` traps.
    public init(words: [String], dimension: Int, values: [Float]) {
        if dimension < 1 { fatalError("[wordVectors] dimension must be at least 1, got \(dimension)") }
        if values.count != words.count * dimension {
            fatalError("[wordVectors] \(words.count) words of dimension \(dimension) need \(words.count * dimension) values, got \(values.count)")
        }
        var index: [String: Int] = [:]
        index.reserveCapacity(words.count)
        for (i, w) in words.enumerated() {
            if let j = index[w] { fatalError("[wordVectors] word '\(w)' appears at \(j) and \(i)") }
            index[w] = i
        }
        self.words = words
        self.dimension = dimension
        self.values = values
        self.index = index
        var unit = values
        for r in 0..<words.count {
            var norm: Float = 0
            for j in 0..<dimension { norm += values[r * dimension + j] * values[r * dimension + j] }
            norm = norm.squareRoot()
            if norm > 0 { for j in 0..<dimension { unit[r * dimension + j] /= norm } }
        }
        self.unit = unit
    }

    public static func == (a: WordVectors, b: WordVectors) -> Bool {
        a.dimension == b.dimension && a.words == b.words && a.values == b.values
    }

    /// The number of words.
    public var count: Int { words.count }

    public func contains(_ word: String) -> Bool { index[word] != nil }

    /// The vector of `word`, or nil when it is not in the vocabulary.
    public func vector(_ word: String) -> [Float]? {
        index[word].map { Array(values[$0 * dimension..<($0 + 1) * dimension]) }
    }

    /// All vectors as float32 `[count, dimension]`, e.g. to start an `Embedding`.
    public var tensor: Tensor { Tensor(shape: [count, dimension], scalars: values) }

    /// The `k` words most similar to `word` (itself excluded), most similar first.
    /// An unknown word throws `DataError`; `k < 1` traps.
    public func nearest(_ word: String, k: Int = 10) throws -> [Neighbour] {
        let i = try position(of: word)
        return nearest(toUnit: Array(unit[i * dimension..<(i + 1) * dimension]), k: k, excluding: [i])
    }

    /// The `k` words most similar to `vector` (of length `dimension`), leaving out `excluding`.
    public func nearest(to vector: [Float], k: Int = 10, excluding: Set<String> = []) -> [Neighbour] {
        if vector.count != dimension { fatalError("[wordVectors] query has \(vector.count) numbers, the vectors \(dimension)") }
        return nearest(toUnit: WordVectors.normalized(vector), k: k, excluding: Set(excluding.compactMap { index[$0] }))
    }

    /// The words closest to `a - b + c` (3CosAdd on unit vectors), leaving out the three query words:
    /// `analogy("king", "man", "woman")` asks "man is to king as woman is to ?". Unknown words throw.
    public func analogy(_ a: String, _ b: String, _ c: String, k: Int = 1) throws -> [Neighbour] {
        let (ia, ib, ic) = (try position(of: a), try position(of: b), try position(of: c))
        var query = [Float](repeating: 0, count: dimension)
        for j in 0..<dimension {
            query[j] = unit[ia * dimension + j] - unit[ib * dimension + j] + unit[ic * dimension + j]
        }
        return nearest(toUnit: WordVectors.normalized(query), k: k, excluding: [ia, ib, ic])
    }

    private func position(of word: String) throws -> Int {
        guard let i = index[word] else {
            throw DataError(op: "word2vec", reason: "unknown word '\(word)' (the vectors have \(count) words)")
        }
        return i
    }

    private static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// Best `k` by cosine against a unit query; ties go to the earlier word.
    private func nearest(toUnit query: [Float], k: Int, excluding: Set<Int>) -> [Neighbour] {
        if k < 1 { fatalError("[wordVectors] k must be at least 1, got \(k)") }
        var best: [(similarity: Float, index: Int)] = []
        best.reserveCapacity(k + 1)
        unit.withUnsafeBufferPointer { u in
            for r in 0..<count where !excluding.contains(r) {
                var s: Float = 0
                let row = u.baseAddress! + r * dimension
                for j in 0..<dimension { s += row[j] * query[j] }
                if best.count == k && s <= best[k - 1].similarity { continue }
                // Insertion into a short sorted list: k is small next to the vocabulary.
                var at = best.count
                while at > 0 && best[at - 1].similarity < s { at -= 1 }
                best.insert((s, r), at: at)
                if best.count > k { best.removeLast() }
            }
        }
        return best.map { Neighbour(word: words[$0.index], similarity: $0.similarity) }
    }
}
