import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// Options of the classic models, shared by `train` and `compare`.
struct ClassicOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "--model knn: neighbours that vote (default 5).") var neighbors: Int?
    @Option(parsing: .unconditional, help: "--model tree|forest: deepest level (default: grow until the leaves are pure).") var maxDepth: Int?
    @Option(parsing: .unconditional, help: "--model forest: trees (default 100).") var trees: Int?

    /// The options given, by name.
    var given: [String] {
        [("--neighbors", neighbors != nil), ("--max-depth", maxDepth != nil), ("--trees", trees != nil)].filter(\.1).map(\.0)
    }
}

extension Train {
    /// The request for a classic model (`--model perceptron|knn|naive-bayes|tree|forest`); the
    /// options of the networks are listed so that the request rejects them.
    func classicRequest(_ kind: ClassicKind) throws -> ClassicRequest {
        if text != nil { throw RunError(op: "train", "--text is for language models; --model \(kind.rawValue) learns from --data or --csv") }
        var classic = ClassicSettings(kind: kind)
        classic.neighbors = classicOptions.neighbors ?? classic.neighbors
        classic.maxDepth = classicOptions.maxDepth
        classic.trees = classicOptions.trees ?? classic.trees
        classic.seed = training.seed
        var networkOptions: [(String, Bool)] = [
            ("--hidden", hidden != nil), ("--layers", layers != nil), ("--dropout", dropout != nil), ("--activation", activation != "relu"),
            ("--text-column", textColumn != nil), ("--seq-len", seqLen != nil), ("--num-layers", numLayers != nil),
            ("--embedding", embedding != nil), ("--max-parameters", maxParameters != TrainRequest.defaultMaxParameters),
            ("--optimizer", training.optimizer != "adam"), ("--weight-decay", training.weightDecay != 0),
            ("--momentum", training.momentum != 0.9), ("--batch-size", training.batchSize != nil), ("--patience", training.patience != nil),
            ("--validation-split", training.validationSplit != nil), ("--clip-grad-norm", training.clipGradNorm != nil),
            ("--loss", training.loss != "auto"), ("--checkpoint-every", training.checkpointEvery != 1), ("--augment", training.augment),
            ("--cosine/--no-cosine", training.cosine != nil),
        ]
        if kind == .perceptron {
            classic.epochs = training.epochs ?? classic.epochs
            classic.learningRate = training.lr ?? classic.learningRate
        } else {
            networkOptions += [("--epochs", training.epochs != nil), ("--lr", training.lr != nil)]
        }
        var request = ClassicRequest(source: try dataOptions.source(required: true)!, classic: classic, out: out)
        request.networkOptions = networkOptions.filter(\.1).map(\.0)
        request.classicOptions = classicOptions.given
        request.dataDir = dataOptions.dataDir
        request.overwrite = overwrite
        request.settings.seed = training.seed
        request.settings.testSplit = training.testSplit ?? request.settings.testSplit
        try dataOptions.apply(to: &request.settings)
        return request
    }
}
