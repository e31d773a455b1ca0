import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MyelinCore

/// One data set the catalogue knows: its files (relative paths in the data folder layout, SHA-256,
/// public download URL), task and class names.
public struct CatalogueEntry: Sendable {
    /// A file of the set (`role` is `train-images`, `train-labels`, `test-images`, `test-labels`, `data` or `text`).
    public typealias File = StoredFile

    public let name: String
    public let description: String
    public let files: [File]
    public let task: LearningTask
    /// Class names by index (empty when the classes are only known after loading, as for text).
    public let classes: [String]
    /// Whether the set is generated on the spot (`GeneratedSet`: `xor`, `circles`, ...) rather than read from files.
    public var isGenerated: Bool { files.isEmpty }

    public init(name: String, description: String, files: [File], task: LearningTask, classes: [String]) {
        self.name = name
        self.description = description
        self.files = files
        self.task = task
        self.classes = classes
    }
}

/// A loaded catalogue data set, split into train and test parts.
public struct CatalogueDataset {
    public typealias Task = LearningTask
    public let name: String
    public let train: TensorDataset
    public let test: TensorDataset
    public let classNames: [String]
    public let featureNames: [String]
    /// Shape of one input: `[1, 28, 28]` for images, `[f]` for tables, `[t]` for token windows.
    public let inputShape: [Int]
    public let task: Task
    /// Token vocabulary for text sets (`sms-spam` bag of words, `tinyshakespeare` characters).
    public let vocabulary: Vocabulary?
    /// The files it was read from, by role.
    public let files: [String: String]

    public init(name: String, train: TensorDataset, test: TensorDataset, classNames: [String], featureNames: [String],
                inputShape: [Int], task: Task, vocabulary: Vocabulary? = nil, files: [String: String] = [:]) {
        self.name = name
        self.train = train
        self.test = test
        self.classNames = classNames
        self.featureNames = featureNames
        self.inputShape = inputShape
        self.task = task
        self.vocabulary = vocabulary
        self.files = files
    }
}

/// The data sets Myelin knows by name, found on disk or downloaded, and the toy 2-D sets it
/// generates (`GeneratedSet`).
///
/// Search order for a data set's files (each folder laid out as `<name>/<file>`, like
/// `../shared/datasets`): `dataDir`, then `$MYELIN_DATA`, then the cache folder
/// (`$XDG_CACHE_HOME/myelin` or `~/.cache/myelin`). When none has them and `allowDownload` is on,
/// the files are downloaded into the cache folder (each through a temporary file, checked against
/// its SHA-256, then renamed into place). `$MYELIN_DATA_MIRROR` (a URL or a folder) replaces the
/// download sources: files are fetched from `<mirror>/<name>/<file>`.
///
/// ```swift
/// let mnist = try Catalogue().load("mnist")          // 60000 train, 10000 test
/// let iris = try Catalogue().load("iris", seed: 1)    // stratified 80/20 split
/// let spirals = try Catalogue().load("spirals")      // 500 generated points: 400 train, 100 test
/// ```
public struct Catalogue {
    public let dataDir: String?
    public let environment: [String: String]
    public let allowDownload: Bool

    public init(dataDir: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                allowDownload: Bool = true) {
        self.dataDir = dataDir
        self.environment = environment
        self.allowDownload = allowDownload
    }

    /// The folders searched, in order (empty settings left out).
    public var searchPaths: [String] {
        var dirs: [String] = []
        if let d = dataDir, !d.isEmpty { dirs.append(d) }
        if let d = environment["MYELIN_DATA"], !d.isEmpty { dirs.append(d) }
        dirs.append(cacheDirectory)
        return dirs
    }

    /// Where downloads go: `$XDG_CACHE_HOME/myelin` or `~/.cache/myelin`.
    public var cacheDirectory: String { FileStore.userCache(environment) }

    /// The store the files are found in and downloaded through (shared with `Pretrained`).
    var store: FileStore {
        FileStore(op: "data", searchPaths: searchPaths, cacheDirectory: cacheDirectory,
                  mirror: environment["MYELIN_DATA_MIRROR"], allowDownload: allowDownload)
    }

    public static func entry(_ name: String) -> CatalogueEntry? { entries.first { $0.name == name } }

    /// The paths of a data set's files by role, downloading them if needed and allowed.
    public func locate(_ name: String) throws -> [String: String] {
        try store.locate(name, files: try knownEntry(name).files)
    }

    /// Where a data set was found (the folder), or nil when it is in none of the search folders
    /// (or is generated).
    public func status(_ name: String) -> String? {
        guard let entry = Catalogue.entry(name), !entry.isGenerated else { return nil }
        return store.folder(holding: entry.files)
    }

    /// Checks the SHA-256 of every file of a located data set; throws on the first mismatch.
    public func verify(_ name: String) throws {
        try store.verify(name, files: try knownEntry(name).files)
    }

    /// Reads a data set and splits it: MNIST and Fashion-MNIST keep their official test sets; the
    /// other sets get a stratified split with `testFraction` held out, drawn with `seed`
    /// (`tinyshakespeare`: the last `testFraction` of the text, in disjoint 64-character windows).
    /// A generated set gets its default count, noise and seed (`load(_: GeneratedSet, ...)` takes others).
    public func load(_ name: String, seed: UInt64 = 0, testFraction: Double = 0.2) throws -> CatalogueDataset {
        let entry = try knownEntry(name)
        if entry.isGenerated { return try load(GeneratedSet(name), seed: seed, testFraction: testFraction) }
        let files = try locate(name)
        switch name {
        case "mnist", "fashion-mnist":
            let train = TensorDataset(inputs: try IDX.readImages(at: files["train-images"]!), targets: try IDX.readLabels(at: files["train-labels"]!))
            let test = TensorDataset(inputs: try IDX.readImages(at: files["test-images"]!), targets: try IDX.readLabels(at: files["test-labels"]!))
            for (part, d) in [("train", train), ("test", test)] where d.inputs.shape[0] != d.targets.shape[0] {
                throw DataError(op: "data", reason: "'\(name)' \(part) has \(d.inputs.shape[0]) images but \(d.targets.shape[0]) labels")
            }
            return CatalogueDataset(name: name, train: train, test: test, classNames: entry.classes,
                                    featureNames: [], inputShape: [1, 28, 28], task: .classification, vocabulary: nil, files: files)
        case "sms-spam":
            let path = files["data"]!
            let (messages, labelStrings) = try SMSSpam.read(path: path)
            let labels = try SMSSpam.encodeLabels(labelStrings, path: path)
            let all = TensorDataset(inputs: Tensor.zeros([messages.count, 1]), targets: labels)
            let (trainPart, testPart) = trainTestSplit(all, test: testFraction, stratified: true, seed: seed)
            let bag = BagOfWords(fitting: trainPart.indices.map { messages[$0] }, maxSize: 2000)
            func part(_ s: Subset) -> TensorDataset {
                TensorDataset(inputs: bag.transform(s.indices.map { messages[$0] }),
                              targets: labels.indexSelect(axis: 0, indices: Tensor(shape: [s.count], scalars: s.indices.map(Int64.init))))
            }
            return CatalogueDataset(name: name, train: part(trainPart), test: part(testPart), classNames: entry.classes,
                                    featureNames: bag.vocabulary.tokens, inputShape: [bag.featureCount], task: .classification,
                                    vocabulary: bag.vocabulary, files: files)
        case "tinyshakespeare":
            let bytes = try readFileBytes(files["text"]!, op: "text")
            let text = String(decoding: bytes, as: UTF8.self)
            let vocabulary = Vocabulary.characters(in: text)
            let tokens = try vocabulary.encode(text)
            let window = 64
            let cut = Int(Double(tokens.count) * (1 - testFraction))
            func windows(_ t: Tensor) throws -> TensorDataset {
                let d = try LanguageModelDataset(tokens: t, vocabulary: vocabulary, sequenceLength: window, stride: window)
                let b = d.batch(at: Array(0..<d.count))
                return TensorDataset(inputs: b.inputs, targets: b.targets)
            }
            return CatalogueDataset(name: name, train: try windows(tokens[0..<cut]), test: try windows(tokens[cut...]),
                                    classNames: vocabulary.tokens, featureNames: [], inputShape: [window], task: .classification,
                                    vocabulary: vocabulary, files: files)
        default:
            let table = try SklearnCSV.read(path: files["data"]!, featureNames: Catalogue.featureNames[name],
                                            classNames: entry.classes.isEmpty ? nil : entry.classes)
            let (trainPart, testPart) = trainTestSplit(table, test: testFraction, stratified: true, seed: seed)
            return CatalogueDataset(name: name, train: trainPart.materialized(), test: testPart.materialized(),
                                    classNames: table.classNames, featureNames: table.featureNames,
                                    inputShape: [table.featureNames.count], task: .classification, vocabulary: nil, files: files)
        }
    }

    // MARK: internals

    private func knownEntry(_ name: String) throws -> CatalogueEntry {
        guard let e = Catalogue.entry(name) else {
            throw DataError(op: "data", reason: "unknown data set '\(name)' (known: \(Catalogue.entries.map(\.name).joined(separator: ", ")))")
        }
        return e
    }
}
