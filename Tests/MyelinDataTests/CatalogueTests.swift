import Foundation
import Testing
import MyelinCore
@testable import MyelinData

@Suite struct CatalogueTests {
    /// The real iris file (a copy only counts as found when its size matches the entry), or nil
    /// when the shared data sets are not on this machine.
    func irisBytes() -> [UInt8]? {
        guard let root = sharedDatasets() else { return nil }
        return try? AtomicFile.read(root + "/iris/iris.csv")
    }

    @Test func entriesAreComplete() {
        let names = Catalogue.entries.map(\.name)
        #expect(names == ["mnist", "fashion-mnist", "iris", "digits", "wine", "breast-cancer", "sms-spam", "tinyshakespeare",
                          "xor", "circles", "gaussians", "spirals", "moons"])
        for e in Catalogue.entries {
            // The generated sets have no files (GeneratedSetTests); the others at least one.
            #expect(!e.description.isEmpty && e.files.isEmpty == GeneratedSet.names.contains(e.name))
            for f in e.files {
                #expect(f.sha256.count == 64 && f.path.hasPrefix(e.name + "/") && f.url.hasPrefix("http") && f.bytes > 0)
            }
        }
        #expect(Catalogue.entry("mnist")!.files.map(\.role) == ["train-images", "train-labels", "test-images", "test-labels"])
        #expect(Catalogue.entry("fashion-mnist")!.classes[9] == "Ankle boot")
    }

    @Test func searchOrder() throws {
        let a = makeTempDir("cat-a"), b = makeTempDir("cat-b"), cache = makeTempDir("cat-cache")
        let env = ["MYELIN_DATA": b, "XDG_CACHE_HOME": cache, "HOME": "/nonexistent"]
        let catalogue = Catalogue(dataDir: a, environment: env, allowDownload: false)
        #expect(catalogue.searchPaths == [a, b, cache + "/myelin"])
        #expect(Catalogue(environment: ["HOME": "/home/x"]).searchPaths == ["/home/x/.cache/myelin"])
        #expect(catalogue.status("iris") == nil)
        #expect(thrownMessage { try catalogue.locate("iris") }
                == "[data] cannot find 'iris': looked in \(a), \(b), \(cache)/myelin; downloading is off")
        #expect(thrownMessage { try catalogue.locate("cifar") }?.hasPrefix("[data] unknown data set 'cifar' (known: mnist, ") == true)

    }

    @Test(.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)"))
    func searchOrderPrefersTheEarliestValidCopy() throws {
        let a = makeTempDir("cat-a2"), b = makeTempDir("cat-b2"), cache = makeTempDir("cat-cache2")
        let env = ["MYELIN_DATA": b, "XDG_CACHE_HOME": cache, "HOME": "/nonexistent"]
        let catalogue = Catalogue(dataDir: a, environment: env, allowDownload: false)
        let iris = try #require(irisBytes())
        // Found in the cache, then in $MYELIN_DATA, then in dataDir: the earlier folder wins.
        for (dir, label) in [(cache + "/myelin", "cache"), (b, "env"), (a, "dataDir")] {
            try FileManager.default.createDirectory(atPath: dir + "/iris", withIntermediateDirectories: true)
            writeBytes(iris, dir + "/iris/iris.csv")
            #expect(catalogue.status("iris") == dir, "\(label)")
            #expect(try catalogue.locate("iris") == ["data": dir + "/iris/iris.csv"])
        }
        // A file of the wrong size does not count.
        writeBytes([1, 2, 3], a + "/iris/iris.csv")
        #expect(catalogue.status("iris") == b)
        try catalogue.verify("iris")
        writeBytes(Array(iris.dropLast()) + [UInt8(ascii: "9")], b + "/iris/iris.csv")
        #expect(thrownMessage { try catalogue.verify("iris") }?.hasPrefix("[data] \(b)/iris/iris.csv: SHA-256 is ") == true)
    }

    @Test func offlineDownloadFailureMessage() {
        let a = makeTempDir("cat-off"), cache = makeTempDir("cat-off-cache")
        let env = ["XDG_CACHE_HOME": cache, "MYELIN_DATA_MIRROR": "http://127.0.0.1:9/mirror"]
        let message = thrownMessage { try Catalogue(dataDir: a, environment: env).locate("mnist") } ?? ""
        let prefix = "[data] cannot find 'mnist': looked in \(a), \(cache)/myelin; download from http://127.0.0.1:9/mirror/mnist/train-images-idx3-ubyte.gz failed: "
        print(message)
        #expect(message.hasPrefix(prefix), "\(message)")
        #expect(message.count > prefix.count && !message.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: cache + "/myelin/mnist/train-images-idx3-ubyte.gz"))
    }

    @Test(.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)"))
    func downloadsFromAMirrorIntoTheCacheWithChecksums() throws {
        let root = try #require(sharedDatasets())
        let cache = makeTempDir("cat-dl")
        let catalogue = Catalogue(environment: ["XDG_CACHE_HOME": cache, "MYELIN_DATA_MIRROR": "file://" + root])
        #expect(catalogue.status("wine") == nil)
        let paths = try catalogue.locate("wine")
        #expect(paths == ["data": cache + "/myelin/wine/wine_data.csv"])
        #expect(catalogue.status("wine") == cache + "/myelin")
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/myelin/wine") == ["wine_data.csv"])

        // A mirror with a bad copy: the checksum fails and nothing is written.
        let bad = makeTempDir("cat-badmirror"), cache2 = makeTempDir("cat-dl2")
        try FileManager.default.createDirectory(atPath: bad + "/iris", withIntermediateDirectories: true)
        writeText("150,4,a,b,c\n", bad + "/iris/iris.csv")
        let message = thrownMessage { try Catalogue(environment: ["XDG_CACHE_HOME": cache2, "MYELIN_DATA_MIRROR": bad]).locate("iris") } ?? ""
        #expect(message.contains("download from \(bad)/iris/iris.csv failed: got 12 bytes with SHA-256 "), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: cache2 + "/myelin/iris/iris.csv"))
    }

    @Test func zipMemberExtraction() throws {
        // A zip with one deflated member, made by hand with zlib's raw deflate via the core's NPZ writer.
        let dir = makeTempDir("zip")
        try Tensor.saveNPZ(["a": Tensor([1, 2, 3])], to: dir + "/z.npz", compressed: true)
        let zip = try AtomicFile.read(dir + "/z.npz")
        let member = try ZipMember.extract("a.npy", from: zip)
        #expect(try Tensor(npyData: member).ints == [1, 2, 3])
        #expect(thrownMessage { try ZipMember.extract("b.npy", from: zip) } == "[zip] no member 'b.npy'")
        #expect(thrownMessage { try ZipMember.extract("a.npy", from: [1, 2, 3]) } == "[zip] file has 3 bytes, fewer than the 22 of an empty zip")
    }

    @Test(.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)"))
    func loadsSmallRealSetsWhenPresent() throws {
        let root = try #require(sharedDatasets())
        let catalogue = Catalogue(dataDir: root, environment: [:], allowDownload: false)
        let iris = try catalogue.load("iris", seed: 0)
        #expect(iris.train.count == 120 && iris.test.count == 30 && iris.inputShape == [4])
        #expect(iris.classNames == ["setosa", "versicolor", "virginica"] && iris.featureNames[0] == "sepal length (cm)")
        #expect((0..<3).map { c in iris.test.targets.ints.filter { $0 == c }.count } == [10, 10, 10])
        #expect(try catalogue.load("iris", seed: 0).test.inputs.floats == iris.test.inputs.floats)
        #expect(try catalogue.load("iris", seed: 1).test.inputs.floats != iris.test.inputs.floats)
        let cancer = try catalogue.load("breast-cancer", testFraction: 0.25)
        #expect(cancer.train.count + cancer.test.count == 569 && cancer.test.count == 142 && cancer.featureNames.count == 30)
        let digits = try catalogue.load("digits")
        #expect(digits.inputShape == [64] && digits.train.inputs.shape == [1438, 64])
        let wine = try catalogue.load("wine")
        #expect(wine.train.count == 142 && wine.test.count == 36)
        let sms = try catalogue.load("sms-spam")
        #expect(sms.train.count + sms.test.count == 5574 && sms.classNames == ["ham", "spam"])
        #expect(sms.inputShape == [2000] && sms.test.targets.ints.filter { $0 == 1 }.count == 149)
        let shakespeare = try catalogue.load("tinyshakespeare", testFraction: 0.1)
        #expect(shakespeare.classNames.count == 65 && shakespeare.inputShape == [64])
        #expect(shakespeare.train.inputs.shape == [15685, 64] && shakespeare.train.targets.dtype == .int64)
        let text = shakespeare.vocabulary!.decode(shakespeare.train.inputs[0])
        #expect(text.hasPrefix("First Citizen:"))
    }

    /// Real MNIST from the shared folder: checksums of the four files and the official counts.
    @Test(.enabled(if: sharedDatasets() != nil, "needs the shared data sets (MYELIN_DATA)"))
    func loadsRealMNISTWhenPresent() throws {
        let root = try #require(sharedDatasets())
        let catalogue = Catalogue(dataDir: root, environment: [:], allowDownload: false)
        #expect(catalogue.status("mnist") == root)
        try catalogue.verify("mnist")
        let start = Date()
        let mnist = try catalogue.load("mnist")
        let seconds = Date().timeIntervalSince(start)
        #expect(mnist.train.count == 60000 && mnist.test.count == 10000)
        #expect(mnist.train.inputs.shape == [60000, 1, 28, 28] && mnist.train.targets.dtype == .int64)
        #expect(mnist.inputShape == [1, 28, 28] && mnist.classNames.count == 10)
        #expect(mnist.train.targets[0..<5].ints == [5, 0, 4, 1, 9])
        let counts = (0..<10).map { c in mnist.train.targets.ints.filter { $0 == c }.count }
        #expect(counts.min() == 5421 && counts.max() == 6742)
        #expect(mnist.train.inputs.max().item() == 1 && mnist.train.inputs.min().item() == 0)
        print("[data] loading MNIST (train + test) took \(String(format: "%.2f", seconds)) s")
    }
}
