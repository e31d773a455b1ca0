import Foundation
@testable import MyelinClassic
import Testing
import MyelinCore

@Suite("k-means, mixtures, PCA and metrics against scikit-learn")
struct UnsupervisedTests {
    @Test(needsData) func kmeansFromGivenCentres() throws {
        let (x, _) = try sklearnData("iris/iris.csv")
        var km = KMeans(initialCenters: x.rows([0, 50, 100]))
        km.fit(x)
        #expect(km.labels == fxInts(fx("kmeans_iris", "labels")))
        expectClose([km.inertia], [(fx("kmeans_iris", "inertia") as! NSNumber).doubleValue], rtol: 1e-9, atol: 0, "inertia")
        expectClose(km.centers.values, fxMatrix(fx("kmeans_iris", "centers")).values, rtol: 1e-9, atol: 1e-12, "centres")
        #expect(km.iterations == (fx("kmeans_iris", "n_iter") as! NSNumber).intValue)
        #expect(km.predict(x) == km.labels)
    }

    @Test(needsData, arguments: ["iris", "wine"]) func kmeansPlusPlusWithinScikitLearnSpread(_ name: String) throws {
        let (x, _) = try sklearnData(name == "iris" ? "iris/iris.csv" : "wine/wine_data.csv")
        let sk = fxDoubles(fx("kmeans_iris", "plusplus_inertia", name))
        var ours: [Double] = []
        for seed in 0..<10 as Range<UInt64> {
            var km = KMeans(k: 3, nInit: 1, seed: seed)
            km.fit(x)
            ours.append(km.inertia)
        }
        print("k-means++ \(name): ours", ours, "scikit-learn", sk)
        #expect(ours.min()! >= sk.min()! * (1 - 1e-9), "ours \(ours), scikit-learn \(sk.min()!)...\(sk.max()!)")
        let median = ours.sorted()[ours.count / 2]
        #expect(median <= sk.max()! * (1 + 1e-9), "ours \(ours), scikit-learn \(sk.min()!)...\(sk.max()!)")
        var best = KMeans(k: 3, nInit: 10, seed: 0)
        best.fit(x)
        #expect(best.inertia <= ours.min()! * (1 + 1e-12))
    }

    @Test(needsData, arguments: ["full", "diag", "spherical"]) func gaussianMixtureFromGivenStart(_ type: String) throws {
        let (x, _) = try sklearnData("iris/iris.csv")
        let f = fx("gmm_iris", "fits", type)
        let kind: GaussianMixture.CovarianceType = type == "full" ? .full : type == "diag" ? .diagonal : .spherical
        let rawPrecisions = (fx("gmm_iris", "fits", type, "precisions_init") as! [Any])
        let precisions: [[Double]] = rawPrecisions.map { p in
            if let n = p as? NSNumber { return [n.doubleValue] }
            let a = p as! [Any]
            return a.first is NSNumber ? fxDoubles(a) : a.flatMap { fxDoubles($0) }
        }
        let start = GaussianMixture.Start(weights: fxDoubles(fx("gmm_iris", "fits", type, "weights_init")),
                                          means: fxMatrix(fx("gmm_iris", "means_init")), precisions: precisions)
        var gm = GaussianMixture(components: 3, covariance: kind, regCovar: 1e-6, tol: 1e-3, maxIter: 100, start: start)
        gm.fit(x)
        let d = f as! [String: Any]
        #expect(gm.iterations == (d["n_iter"] as! NSNumber).intValue)
        expectClose(gm.weights, fxDoubles(d["weights"]!), rtol: 1e-6, atol: 1e-12, "weights")
        expectClose(gm.means.values, fxMatrix(d["means"]!).values, rtol: 1e-6, atol: 1e-9, "means")
        let covariances: [Double]
        switch kind {
        case .full: covariances = gm.covariances.flatMap { $0.values }
        case .diagonal: covariances = gm.covariances.flatMap { c in (0..<c.rows).map { c[$0, $0] } }
        case .spherical: covariances = gm.covariances.map { $0[0, 0] }
        }
        let skCov = (d["covariances"] as! [Any]).flatMap { v -> [Double] in
            if let n = v as? NSNumber { return [n.doubleValue] }
            let a = v as! [Any]
            return a.first is NSNumber ? fxDoubles(a) : a.flatMap { fxDoubles($0) }
        }
        expectClose(covariances, skCov, rtol: 1e-6, atol: 1e-9, "covariances")
        let score = (d["score"] as! NSNumber).doubleValue
        expectClose([gm.score(x)], [score], rtol: 1e-6, atol: 0, "log-likelihood")
        expectClose([gm.bic(x), gm.aic(x)], [(d["bic"] as! NSNumber).doubleValue, (d["aic"] as! NSNumber).doubleValue], rtol: 1e-6, atol: 0, "bic, aic")
        expectClose(gm.predictProbabilities(x.rows(Array(stride(from: 0, to: 150, by: 3)))).values, fxMatrix(d["proba"]!).values,
                    atol: 1e-6, "membership")
        #expect(gm.predict(x) == fxInts(d["predict"]!))
    }

    @Test(needsData) func gaussianMixtureFromKMeans() throws {
        let (x, y) = try sklearnData("iris/iris.csv")
        var gm = GaussianMixture(components: 3, seed: 0)
        gm.fit(x)
        #expect(gm.converged)
        #expect(Metrics.adjustedRandIndex(y, gm.predict(x)) > 0.7)
    }

    @Test(needsData) func pcaOnDigits() throws {
        let (x, _) = try sklearnData("digits/digits.csv.gz")
        var pca = PCA(components: 10)
        pca.fit(x)
        let sk = fxMatrix(fx("pca_digits", "components"))
        for r in 0..<10 {
            let ours = Array(pca.componentVectors.row(r)), theirs = Array(sk.row(r))
            let sign = zip(ours, theirs).map { $0 * $1 }.reduce(0, +) < 0 ? -1.0 : 1.0
            expectClose(ours.map { $0 * sign }, theirs, atol: 1e-5, "component \(r)")
        }
        expectClose(pca.explainedVarianceRatio, fxDoubles(fx("pca_digits", "ratio")), rtol: 1e-9, atol: 1e-12, "ratio")
        expectClose(pca.explainedVariance, fxDoubles(fx("pca_digits", "variance")), rtol: 1e-9, atol: 1e-9, "variance")
        var full = PCA()
        full.fit(x)
        let z = full.transform(x.rows(Array(0..<5)))
        expectClose(full.inverseTransform(z).values, x.rows(Array(0..<5)).values, atol: 1e-8, "round trip")
    }

    @Test(needsData) func metricsExact() throws {
        let (iris, y) = try sklearnData("iris/iris.csv")
        let m = fx("metrics") as! [String: Any]
        #expect(Metrics.adjustedRandIndex(y, fxInts(fx("kmeans_iris", "labels"))) == (m["ari_kmeans_iris"] as! NSNumber).doubleValue)
        #expect(Metrics.adjustedRandIndex([0, 0, 1, 1, 2, 2, 2], [1, 1, 0, 0, 0, 2, 2]) == (m["ari_example"] as! NSNumber).doubleValue)
        expectClose([Metrics.silhouetteScore(iris, y)], [(m["silhouette_iris_truth"] as! NSNumber).doubleValue], atol: 1e-12, "silhouette iris")
        let (wine, _) = try sklearnData("wine/wine_data.csv")
        expectClose([Metrics.silhouetteScore(wine, fxInts(m["wine_kmeans_labels"]!))], [(m["silhouette_wine_kmeans"] as! NSNumber).doubleValue],
                    atol: 1e-12, "silhouette wine")
        #expect(Metrics.accuracy([1, 2, 3], [1, 2, 0]) == 2.0 / 3)
    }

    @Test func lapackAndJacobiGiveTheSameEigenpairs() {
        // A random symmetric 30 x 30 matrix: LAPACK's dsyevd (where linked) and our Jacobi agree on
        // the values and, up to sign, the vectors; both are A v = λ v.
        var state: UInt64 = 12345
        func next() -> Double { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Double(state % 2001) / 1000 - 1 }
        let n = 30
        var a = FeatureMatrix(zerosRows: n, cols: n)
        for i in 0..<n { for j in i..<n { let v = next(); a[i, j] = v; a[j, i] = v } }
        let (values, vectors) = SymmetricEigen.decompose(a)
        let (jv, jvec) = SymmetricEigen.jacobi(a)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 }, "largest first")
        for r in 0..<n {
            #expect(abs(values[r] - jv[r]) < 1e-10, "value \(r): \(values[r]) vs \(jv[r])")
            let dot = (0..<n).reduce(0.0) { $0 + vectors[r, $1] * jvec[r, $1] }
            #expect(abs(abs(dot) - 1) < 1e-8, "vector \(r): |dot| \(abs(dot))")
            for i in 0..<n {
                let av = (0..<n).reduce(0.0) { $0 + a[i, $1] * vectors[r, $1] }
                #expect(abs(av - values[r] * vectors[r, i]) < 1e-10)
            }
        }
        #if os(Linux)
        #expect(LAPACK.symmetricEigen(a.values, n: n) != nil, "OpenBLAS exports dsyevd_ on Linux")
        #endif
    }
}
