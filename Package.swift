// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Myelin",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Myelin", targets: ["Myelin"]),
        .executable(name: "myelin", targets: ["MyelinCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The dashboard's HTTP server: SwiftNIO's HTTP/1 pipeline (llhttp parser, bounded heads).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C shims: CBLAS (OpenBLAS on Linux; Accelerate is used directly on macOS) and zlib.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Hand-written C kernels with a run-time CPU check (float32 SGEMM, batch-1 matrix-vector products, Adam's step).
        .target(name: "CMyelinKernels"),
        // The n-dimensional array: storage, views, elementwise ops, reductions, BLAS, I/O.
        .target(
            name: "MyelinCore",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                "CZlib",
                "CMyelinKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            exclude: ["Backend/README.md"],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]
        ),
        // Neural networks: modules, layers, activations, losses, initialisers, optimisers, schedulers.
        .target(name: "MyelinNN", dependencies: ["MyelinCore"]),
        // Data: datasets, loaders, splits, transforms, file readers (IDX, CSV, text), the catalogue.
        .target(name: "MyelinData", dependencies: ["MyelinCore", "CMyelinKernels"]),
        // Training: fit/evaluate/predict, callbacks, progress, metrics, history.
        .target(name: "MyelinTrain", dependencies: ["MyelinCore", "MyelinNN", "MyelinData"]),
        // Pictures: SVG training curves, confusion matrices, decision boundaries, image grids.
        .target(name: "MyelinPlot", dependencies: ["MyelinCore"]),
        // What the `myelin` command does, as a library: model specs, run folders, train/evaluate/predict jobs.
        .target(name: "MyelinRun", dependencies: ["MyelinCore", "CMyelinKernels", "MyelinNN", "MyelinData", "MyelinTrain", "MyelinPlot", "MyelinClassic", "MyelinPretrained", "MyelinDistributed"]),
        // Classic machine learning with scikit-learn's meaning: k-means, mixtures, kNN, naive Bayes, trees, PCA.
        .target(name: "MyelinClassic", dependencies: ["MyelinCore", "MyelinData", "MyelinPlot"]),
        // The live dashboard and playground: an HTTP server over run folders, its pages embedded in the binary.
        .target(
            name: "MyelinDashboard",
            dependencies: ["MyelinCore", "MyelinNN", "MyelinData", "MyelinTrain", "MyelinRun",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            resources: [.embedInCode("Assets/index.html"), .embedInCode("Assets/dashboard.js"),
                        .embedInCode("Assets/dashboard.css"), .embedInCode("Assets/playground.html"),
                        .embedInCode("Assets/playground.js")]
        ),
        // Pretrained models: the BERT encoder, sentence embeddings, the registry of downloadable models.
        .target(name: "MyelinPretrained", dependencies: ["MyelinCore", "MyelinNN", "MyelinData"]),
        // Open MPI opened at run time (dlopen of libmpi.so.40): builds and runs where MPI is absent.
        .target(name: "CMPIShim", linkerSettings: [.linkedLibrary("dl")]),
        // Data-parallel training: communicators (MPI, in-process), the distributed sampler, DataParallel, SyncBatchNorm.
        .target(name: "MyelinDistributed", dependencies: ["MyelinCore", "MyelinNN", "MyelinData", "MyelinTrain", "CMPIShim"]),
        // Umbrella module: `import Myelin` brings in every subsystem.
        .target(name: "Myelin", dependencies: ["MyelinCore", "MyelinNN", "MyelinData", "MyelinTrain", "MyelinPlot", "MyelinClassic", "MyelinPretrained", "MyelinDistributed"]),
        // Benchmark workloads of ../shared/bench, run by `myelin bench`.
        .target(name: "MyelinBench", dependencies: ["Myelin"]),
        .executableTarget(
            name: "MyelinCLI",
            dependencies: ["Myelin", "MyelinBench", "MyelinRun", "MyelinDashboard", "MyelinDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fixture loading and comparisons shared by the test targets.
        .target(name: "MyelinTestSupport", dependencies: ["MyelinCore"], path: "Tests/MyelinTestSupport", exclude: ["fixturelib.py"]),
        // A W3C WebDriver client driving headless Chromium through chromedriver, for tests of web pages.
        .target(name: "MyelinWebDriver", path: "Tests/MyelinWebDriver"),
        .testTarget(name: "MyelinCoreTests", dependencies: ["MyelinCore", "MyelinTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinNNTests", dependencies: ["MyelinNN", "MyelinCore", "MyelinTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinDataTests", dependencies: ["MyelinData", "MyelinCore", "MyelinTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinTrainTests", dependencies: ["MyelinTrain", "MyelinData", "MyelinNN", "MyelinCore", "MyelinTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinRunTests", dependencies: ["MyelinRun", "MyelinPretrained", "MyelinNN", "MyelinData", "MyelinCore", "MyelinClassic", "MyelinTestSupport"]),
        .testTarget(name: "MyelinPlotTests", dependencies: ["MyelinPlot", "MyelinCore", "MyelinTestSupport", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinDashboardTests", dependencies: ["MyelinDashboard", "MyelinWebDriver", "MyelinRun", "MyelinTrain", "MyelinNN", "MyelinCore", "MyelinData", "MyelinTestSupport"]),
        .testTarget(name: "MyelinPretrainedTests", dependencies: ["MyelinPretrained", "MyelinNN", "MyelinData", "MyelinCore", "MyelinTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MyelinDistributedTests", dependencies: ["MyelinDistributed", "MyelinTrain", "MyelinNN", "MyelinData", "MyelinCore"]),
        .testTarget(name: "MyelinClassicTests", dependencies: ["MyelinClassic", "MyelinData", "MyelinCore"], exclude: ["Fixtures"]),
        // The open extension points used from outside the library: public API only (`import Myelin`, no @testable).
        .testTarget(name: "MyelinExtensionTests", dependencies: ["Myelin"]),
        // The WebDriver client against a small page served on loopback by the test itself (needs chromium and chromedriver).
        .testTarget(name: "MyelinBrowserTests", dependencies: ["MyelinWebDriver", "MyelinDashboard", "MyelinRun", "MyelinTrain", "MyelinNN", "MyelinCore"]),
    ],
    swiftLanguageModes: [.v6]
)
