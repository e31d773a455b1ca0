import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MyelinCore

/// One data set the catalogue knows: its files (relative paths in the data folder layout, SHA-256,
/// public download URL), task and class names.
public struct CatalogueEntry: Sendable {
    public struct File: Sendable {
        /// What the file is: `train-images`, `train-labels`, `test-images`, `test-labels`, `data`, `text`.
        public let role: String
        /// Path inside a data folder, e.g. `mnist/train-images-idx3-ubyte.gz`.
        public let path: String
        /// SHA-256 of the file as stored (lowercase hex).
        public let sha256: String
        /// Size in bytes.
        public let bytes: Int
        /// Where to download it from.
        public let url: String
        /// For archives: the member to extract (the download is a zip holding the file).
        public let archiveMember: String?

        public init(role: String, path: String, sha256: String, bytes: Int, url: String, archiveMember: String? = nil) {
            self.role = role
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
            self.url = url
            self.archiveMember = archiveMember
        }
    }

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
    public var cacheDirectory: String {
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return x + "/myelin" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/myelin"
    }

    public static func entry(_ name: String) -> CatalogueEntry? { entries.first { $0.name == name } }

    /// The paths of a data set's files by role, downloading them if needed and allowed.
    public func locate(_ name: String) throws -> [String: String] {
        let entry = try knownEntry(name)
        if entry.isGenerated { return [:] }
        for dir in searchPaths {
            if let found = filesIn(dir, entry) { return found }
        }
        let looked = searchPaths.joined(separator: ", ")
        guard allowDownload else {
            throw DataError(op: "data", reason: "cannot find '\(name)': looked in \(looked); downloading is off")
        }
        var found: [String: String] = [:]
        for file in entry.files {
            let target = cacheDirectory + "/" + file.path
            if fileSize(target) == file.bytes {
                found[file.role] = target
                continue
            }
            let source = downloadSource(file)
            do {
                try download(file, from: source, to: target)
            } catch {
                let reason = (error as? DataError)?.reason ?? "\(error)"
                throw DataError(op: "data", reason: "cannot find '\(name)': looked in \(looked); download from \(source) failed: \(reason)")
            }
            found[file.role] = target
        }
        return found
    }

    /// Where a data set was found (the folder), or nil when it is in none of the search folders
    /// (or is generated).
    public func status(_ name: String) -> String? {
        guard let entry = Catalogue.entry(name), !entry.isGenerated else { return nil }
        for dir in searchPaths where filesIn(dir, entry) != nil { return dir }
        return nil
    }

    /// Checks the SHA-256 of every file of a located data set; throws on the first mismatch.
    public func verify(_ name: String) throws {
        let entry = try knownEntry(name)
        let paths = try locate(name)
        for file in entry.files {
            let path = paths[file.role]!
            let digest = SHA256.hex(of: try readFileBytes(path, op: "data"))
            guard digest == file.sha256 else {
                throw DataError(op: "data", file: path, reason: "SHA-256 is \(digest), expected \(file.sha256)")
            }
        }
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

    /// All of the entry's files under `dir` with the right sizes, or nil.
    private func filesIn(_ dir: String, _ entry: CatalogueEntry) -> [String: String]? {
        var found: [String: String] = [:]
        for file in entry.files {
            let path = dir + "/" + file.path
            guard fileSize(path) == file.bytes else { return nil }
            found[file.role] = path
        }
        return found
    }

    private func fileSize(_ path: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) != .typeDirectory,
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.intValue
    }

    private func downloadSource(_ file: CatalogueEntry.File) -> String {
        if let mirror = environment["MYELIN_DATA_MIRROR"], !mirror.isEmpty {
            return (mirror.hasSuffix("/") ? String(mirror.dropLast()) : mirror) + "/" + file.path
        }
        return file.url
    }

    private func download(_ file: CatalogueEntry.File, from source: String, to target: String) throws {
        var bytes: [UInt8]
        if source.hasPrefix("/") || source.hasPrefix("file://") {
            let path = source.hasPrefix("file://") ? String(source.dropFirst(7)) : source
            bytes = try readFileBytes(path, op: "data")
        } else {
            bytes = try Catalogue.fetch(source)
        }
        if let member = file.archiveMember, !source.hasSuffix(file.path) {
            bytes = try ZipMember.extract(member, from: bytes)
        }
        let digest = SHA256.hex(of: bytes)
        guard digest == file.sha256 else {
            throw DataError(op: "data", reason: "got \(bytes.count) bytes with SHA-256 \(digest), expected \(file.sha256)")
        }
        let folder = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw DataError(op: "data", reason: "cannot create \(folder): \(error.localizedDescription)")
        }
        do { try AtomicFile.write(bytes, to: target) } catch let e as FileError {
            throw DataError(op: "data", reason: e.description)
        }
    }

    /// Downloads `url` synchronously (60 s timeout); HTTP errors throw.
    static func fetch(_ url: String) throws -> [UInt8] {
        guard let u = URL(string: url) else { throw DataError(op: "data", reason: "bad URL \(url)") }
        // @unchecked: `result` is written by the completion handler before `done` is signalled and read after waiting on it.
        final class Box: @unchecked Sendable { var result: Result<[UInt8], DataError> = .failure(DataError(op: "data", reason: "no response")) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: u)
        request.timeoutInterval = 60
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(DataError(op: "data", reason: error.localizedDescription))
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                box.result = .failure(DataError(op: "data", reason: "HTTP status \(http.statusCode)"))
            } else {
                box.result = .success(data.map { [UInt8]($0) } ?? [])
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try box.result.get()
    }
}

/// Extracts one member of a zip archive, for downloads that come zipped (the core's `ZipArchive` reads it).
enum ZipMember {
    /// The member called `name` (at the top or in a folder); errors are `[zip] ...` `DataError`s.
    static func extract(_ name: String, from bytes: [UInt8]) throws -> [UInt8] {
        let found: [UInt8]?
        do {
            found = try ZipArchive.member(in: bytes, file: "download") { $0 == name || $0.hasSuffix("/" + name) }
        } catch let NPYError.badZip(_, reason) {
            throw DataError(op: "zip", reason: reason)
        }
        guard let found else { throw DataError(op: "zip", reason: "no member '\(name)'") }
        return found
    }
}
