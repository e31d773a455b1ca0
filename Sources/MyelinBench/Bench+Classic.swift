import Foundation
import Myelin

// Classic-learning workloads on MNIST (float64, pixels / 255), found through the catalogue ($MYELIN_DATA,
// the cache, or ../shared/datasets). Peer: scripts/bench-peers/sklearn_classic_bench.py (scikit-learn,
// the same data, k, init, nInit, maxIter and tol).
extension Benchmarks {
    static let classicWorkloads = ["knn_mnist", "knn_mnist_f64", "kmeans_mnist"]

    /// MNIST's training and test images as [rows, 784] float64 matrices, and their labels.
    static func mnistMatrices() throws -> (train: FeatureMatrix, trainY: [Int], test: FeatureMatrix, testY: [Int]) {
        var env = ProcessInfo.processInfo.environment
        if env["MYELIN_DATA"] == nil, FileManager.default.fileExists(atPath: "../shared/datasets/mnist") { env["MYELIN_DATA"] = "../shared/datasets" }
        let files = try Catalogue(environment: env).locate("mnist")
        func images(_ role: String) throws -> FeatureMatrix {
            let t = try IDX.readImages(at: files[role]!)
            return FeatureMatrix(t.reshape([t.shape[0], 784]))
        }
        return (try images("train-images"), try IDX.readLabels(at: files["train-labels"]!).ints,
                try images("test-images"), try IDX.readLabels(at: files["test-labels"]!).ints)
    }

    /// 10,000 test images classified by their 3 nearest of the 60,000 training images (brute force,
    /// Euclidean), products in float32 (`knn_mnist`) or float64 (`knn_mnist_f64`, scikit-learn's precision).
    static func knnMNIST(_ name: String, precision: NeighborPrecision) throws -> [Result] {
        let d = try mnistMatrices()
        var knn = KNearestNeighborsClassifier(k: 3)
        knn.precision = precision
        let t0 = monotonicSeconds()
        knn.fit(d.train, d.trainY)
        let predicted = knn.predict(d.test)
        let seconds = monotonicSeconds() - t0
        return [Result(workload: name, metric: "seconds", value: seconds, unit: "s", better: "lower"),
                Result(workload: name, metric: "accuracy", value: Metrics.accuracy(d.testY, predicted), unit: "fraction", better: "higher")]
    }

    /// k-means with k = 10 on the 60,000 training images: k-means++, nInit 1, maxIter 100, tol 1e-4.
    static func kmeansMNIST(_ name: String) throws -> [Result] {
        let d = try mnistMatrices()
        var km = KMeans(k: 10, nInit: 1, maxIter: 100, tol: 1e-4, seed: 0)
        let t0 = monotonicSeconds()
        km.fit(d.train)
        let seconds = monotonicSeconds() - t0
        return [Result(workload: name, metric: "seconds", value: seconds, unit: "s", better: "lower"),
                Result(workload: name, metric: "seconds_per_iter", value: seconds / Double(km.iterations), unit: "s", better: "lower"),
                Result(workload: name, metric: "inertia", value: km.inertia, unit: "", better: "lower"),
                Result(workload: name, metric: "adjusted_rand_index", value: Metrics.adjustedRandIndex(d.trainY, km.labels), unit: "", better: "higher")]
    }
}
