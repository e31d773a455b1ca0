import ArgumentParser
import Foundation
import Myelin
import MyelinRun

/// Options naming the data, shared by `train`, `evaluate` and `compare`.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A catalogue data set: \(DataOptions.catalogueNames(generated: false)); or a generated one: "
                               + "\(DataOptions.catalogueNames(generated: true)) (see `myelin datasets`)."))
    var data: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("A generated data set's points in all, before the split (default \(GeneratedSet.defaultCount), 2 to \(GeneratedSet.maxCount)).", valueName: "n"))
    var count: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("A generated data set's noise (default: \(DataOptions.defaultNoiseText); at most \(Int(GeneratedSet.maxNoise))).", valueName: "x"))
    var noise: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of a generated data set's points (default 0; --seed draws the split and the model).", valueName: "s"))
    var dataSeed: UInt64?

    @Option(help: "A CSV file to learn from (with --label).")
    var csv: String?

    @Option(help: "The CSV column to predict (name, or 0-based index).")
    var label: String?

    @Option(help: "classification or regression (default: inferred from the label column).")
    var task: String?

    @Option(help: "Folder with the data sets (default: $MYELIN_DATA, then ~/.cache/myelin).")
    var dataDir: String?

    @Option(help: "Missing CSV cells (empty, NA, ?, NaN): impute (the default: median plus a was-missing column; a 'missing' category for text), drop (the rows) or error.")
    var missing: String?

    @Option(help: "Text feature columns of a CSV: onehot (the default: one feature per category) or label (one feature: the category's index).")
    var categoricalEncoding: String?

    /// Checks the CSV options and records them in the settings.
    func apply(to settings: inout TrainSettings) throws {
        let missing = missing ?? "impute", categoricalEncoding = categoricalEncoding ?? "onehot"
        guard ["impute", "drop", "error"].contains(missing) else {
            throw RunError(op: "train", "unknown --missing '\(missing)'; expected impute, drop or error")
        }
        guard ["onehot", "label"].contains(categoricalEncoding) else {
            throw RunError(op: "train", "unknown --categorical-encoding '\(categoricalEncoding)'; expected onehot or label")
        }
        settings.missing = missing == "impute" ? nil : missing
        settings.categoricalEncoding = categoricalEncoding == "onehot" ? nil : categoricalEncoding
    }

    /// Throws when options that only shape how `train` reads a CSV are given to `op` (`evaluate`
    /// reads with the run's own schema), instead of ignoring them.
    func refuseTrainingOnly(op: String) throws {
        let given = [("--task", task), ("--missing", missing), ("--categorical-encoding", categoricalEncoding)].filter { $0.1 != nil }
        guard given.isEmpty else {
            throw RunError(op: op, "\(given.map(\.0).joined(separator: ", ")) shape\(given.count == 1 ? "s" : "") how train reads a CSV; "
                           + "\(op) reads it as the run was trained (its task and encoding)")
        }
    }

    /// The catalogue's names, the generated sets' or the others'.
    static func catalogueNames(generated: Bool) -> String {
        Catalogue.entries.filter { $0.isGenerated == generated }.map(\.name).joined(separator: ", ")
    }

    /// `xor 0.1, circles 0.1, ...`
    static var defaultNoiseText: String {
        GeneratedSet.names.map { "\($0) \(String(format: "%g", GeneratedSet.defaultNoise[$0] ?? 0))" }.joined(separator: ", ")
    }

    /// The generated set `--data` names, with `--count`, `--noise` and `--data-seed`, checked; nil
    /// for other data. Throws `[op] ...` for a bad value, or for one of these options without a
    /// generated set.
    func generatedSet(op: String) throws -> GeneratedSet? {
        try Self.generatedSet(data: data, csv: csv, count: count, noise: noise, dataSeed: dataSeed, op: op)
    }

    /// `generatedSet(op:)` for commands with options of their own (`cluster`).
    static func generatedSet(data: String?, csv: String?, count: Int?, noise: Double?, dataSeed: UInt64?, op: String) throws -> GeneratedSet? {
        if let data, GeneratedSet.names.contains(data) {
            let set = GeneratedSet(data, count: count ?? GeneratedSet.defaultCount, noise: noise, seed: dataSeed ?? 0)
            try set.validate(op: op)
            return set
        }
        let given = [("--count", count != nil), ("--noise", noise != nil), ("--data-seed", dataSeed != nil)].filter(\.1).map(\.0)
        if let option = given.first {
            let other = data.map { Catalogue.entry($0) == nil ? "'\($0)' is not one of them" : "--data \($0) is read from files" }
                ?? (csv != nil ? "--csv is a file" : "no --data was given")
            throw RunError(op: op, "\(option) is for the generated data sets (--data \(GeneratedSet.names.joined(separator: ", "))); \(other)")
        }
        return nil
    }

    /// The source these options name; nil when none is given and `required` is false.
    func source(required: Bool, labelRequired: Bool = true, op: String = "train") throws -> DataSource? {
        if let set = try generatedSet(op: op) {
            guard csv == nil else { throw RunError("give either --data or --csv, not both") }
            if task != nil { throw RunError(op: op, "--task is for --csv files; '\(set.name)' is a classification set") }
            return .generated(set: set)
        }
        var wanted: RunDescription.Task?
        if let task {
            guard let t = RunDescription.Task(rawValue: task) else {
                throw RunError("unknown task '\(task)'; expected classification or regression")
            }
            wanted = t
        }
        switch (data, csv) {
        case (let name?, nil):
            if task != nil { throw RunError(op: op, "--task is for --csv files; '\(name)' has a task of its own (see `myelin datasets`)") }
            return .catalogue(name: name)
        case (nil, let file?):
            guard let label = label ?? (labelRequired ? nil : "") else {
                throw RunError("--csv needs --label COLUMN naming the column to predict")
            }
            return .csv(path: file, label: label, task: wanted)
        case (.some, .some):
            throw RunError("give either --data or --csv, not both")
        case (nil, nil):
            if required { throw RunError("no data: give --data NAME (see `myelin datasets`) or --csv FILE --label COLUMN") }
            return nil
        }
    }
}

/// Options of the optimisation, shared by `train` and `demo`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "sgd, adam, adamw, rmsprop, adagrad or adadelta.") var optimizer = "adam"
    @Option(name: [.customLong("lr"), .customLong("learning-rate")], parsing: .unconditional, help: "Learning rate (default 0.001).") var lr: Double?
    @Option(parsing: .unconditional, help: "Weight decay (L2; decoupled for adamw).") var weightDecay = 0.0
    @Option(parsing: .unconditional, help: "Momentum (sgd), in [0, 1).") var momentum = 0.9
    @Option(parsing: .unconditional, help: "Mini-batch size (default: training rows / 16 rounded up to a power of two, 16 to 128).") var batchSize: Int?
    @Option(parsing: .unconditional, help: "Epochs (default: about 3,000 optimiser steps, 10 to 500 epochs, with early stopping).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Seed of initial weights, splits and shuffling.") var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Stop after this many epochs without a better validation loss (restores the best weights).") var patience: Int?
    @Option(parsing: .unconditional, help: "Fraction of the training data held out for validation (default 0.1; texts: 0.05 before the test part).") var validationSplit: Double?
    @Option(parsing: .unconditional, help: "Fraction held out for testing when the data set has no test part (default 0.2; texts: the last 0.1).") var testSplit: Double?
    @Option(parsing: .unconditional, help: "Clip the gradients' global 2-norm to this before each step (default: none; 5 for language models).") var clipGradNorm: Double?
    @Option(help: "auto, ce (cross-entropy), bce (two classes, one sigmoid output) or mse.") var loss = "auto"
    @Option(parsing: .unconditional, help: "Write the full checkpoint every N epochs (the last epoch always).") var checkpointEvery = 1
    @Flag(help: "Random shifts and small rotations of training images.") var augment = false
    @Flag(inversion: .prefixedNo, help: "Cosine decay of the learning rate over the epochs (default: on).") var cosine: Bool?
    @Option(parsing: .unconditional, help: "Threads for kernels and BLAS (default: all cores).") var threads: Int?
    @Flag(help: "One line per epoch instead of a progress bar.") var quiet = false

    var settings: TrainSettings {
        var s = TrainSettings()
        s.optimizer = optimizer
        s.learningRate = lr ?? s.learningRate
        s.weightDecay = weightDecay
        s.momentum = momentum
        s.batchSize = batchSize ?? s.batchSize
        s.epochs = epochs ?? s.epochs
        s.seed = seed
        s.patience = patience
        s.validationSplit = validationSplit ?? s.validationSplit
        s.testSplit = testSplit ?? s.testSplit
        s.clipGradNorm = clipGradNorm
        s.augment = augment
        s.cosine = cosine ?? true
        s.loss = loss == "auto" ? nil : loss
        s.checkpointEvery = checkpointEvery == 1 ? nil : checkpointEvery
        return s
    }

    /// The settings given on the command line (the others may be chosen from the data's size).
    var given: Set<TrainPlan.Setting> {
        var g = Set<TrainPlan.Setting>()
        if epochs != nil { g.insert(.epochs) }
        if batchSize != nil { g.insert(.batchSize) }
        if patience != nil { g.insert(.patience) }
        if lr != nil { g.insert(.learningRate) }
        if cosine != nil { g.insert(.cosine) }
        return g
    }

    func applyThreads() throws {
        if let threads {
            guard threads >= 1, threads <= 1024 else { throw RunError(op: "train", "--threads must be between 1 and 1024, got \(threads)") }
            Threading.count = threads
        }
    }

    var verbosity: Verbosity { quiet ? .epoch : .auto }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a catalogue data set or a CSV file and write a run folder.",
        discussion: """
        Examples:
          myelin train --data mnist --hidden 512,256 --dropout 0.2 --epochs 10 \\
              --out runs/mnist
          myelin train --data mnist --model cnn --epochs 12 --cosine --out runs/cnn
          myelin train --csv houses.csv --label price --hidden 64,64 --out runs/houses
          myelin train --data fashion-mnist \\
              --layers conv:32:3,relu,maxpool:2,flatten,dense:128,relu --out runs/f
          myelin train --data mnist --model knn --neighbors 3 --out runs/mnist-knn
          myelin train --data breast-cancer --model forest --trees 100 --seed 0 \\
              --out runs/bc-forest
          myelin train --data spirals --count 1000 --noise 0.3 --hidden 16,16 \\
              --out runs/spirals
          myelin train --data sms-spam --encoder all-MiniLM-L6-v2 [--fine-tune 2] \\
              --out runs/spam-minilm

        Classic models (perceptron, knn, naive-bayes, tree, forest) are fitted in one pass on \
        the whole training part (no validation part) with the usual scaling (standardised \
        table features, images as they are; multinomial naive Bayes reads raw counts); they \
        do not resume. They take --seed, --test-split and the data options; the perceptron \
        also --epochs (most passes, default 100) and --lr (η, default 1); any other network \
        option is rejected.

        Activations (--activation, or a block of --layers):
        """ + "\n" + ActivationTable.helpTable.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "mlp, cnn (LeNet-like) or linear; for texts lstm (default), gru or rnn; classic models: perceptron, knn, naive-bayes (multinomial on count data such as word counts, Gaussian otherwise), tree or forest.") var model: String?
    @Option(help: "Hidden layer sizes of the MLP, comma-separated (default 512,256 for images, 64 for tables); one size for recurrent models (default 256 for language models, 128 for text classifiers).") var hidden: String?
    @Option(help: "A text file to learn a character-level language model from.") var text: String?
    @Option(help: "With --csv: the column of text messages to classify with --model lstm|gru (word ids through a recurrent encoder).") var textColumn: String?
    @Option(parsing: .unconditional, help: "Language models: characters per training window (default 100).") var seqLen: Int?
    @Option(parsing: .unconditional, help: "Language models: recurrent layers (default 2).") var numLayers: Int?
    @Option(parsing: .unconditional, help: "Recurrent models: size of the embedding (default 64 for characters, 128 for words).") var embedding: Int?
    @Option(help: ArgumentHelp("Activation of the MLP: \(ActivationTable.usageList).")) var activation = "relu"
    @Option(parsing: .unconditional, help: "Dropout after each hidden layer (default 0.2 for image MLPs, 0.25 in the CNN, else 0).") var dropout: Double?
    @Option(help: "The network as blocks: dense:N, an activation (relu, leaky_relu:0.1, ...), dropout:P, conv:F:K[:S], maxpool:K, avgpool:K, gap, bn, flatten.") var layers: String?
    @OptionGroup var training: TrainingOptions
    @OptionGroup(title: "Transfer learning") var transfer: TransferOptions
    @OptionGroup(title: "Classic models") var classicOptions: ClassicOptions
    @Option(help: "The run folder to write (default: a new runs/<data>-<n>).") var out: String?
    @Flag(help: "Replace the run in --out once the new run has finished.") var overwrite = false
    @Option(help: "The largest network to build, in parameters.") var maxParameters = TrainRequest.defaultMaxParameters
    @Flag(help: "Serve a live dashboard of the run while it trains (curves, inside the network, pause/step/inspect).") var dashboard = false
    @OptionGroup(title: "Dashboard") var serve: ServeOptions
    @Flag(help: "Under mpirun: batch norm (bn layers) with statistics over all ranks' batches.") var syncBn = false

    func run() throws {
        runOrFail {
            try training.applyThreads()
            try serve.check(dashboard: dashboard, op: "train")
            let distributed = try MPILaunch.detect(syncBatchNorm: syncBn, threadsGiven: training.threads != nil, op: "train")
            if distributed != nil {
                if dashboard || serve.histogramEvery != nil { throw MPILaunch.unsupported("--dashboard") }
                if transfer.encoder != nil || !transfer.given.isEmpty { throw MPILaunch.unsupported("transfer learning (--encoder)") }
                if let model, ClassicKind.named(model) != nil { throw MPILaunch.unsupported("--model \(model)") }
                if text != nil || dataOptions.data.map(TextSource.isText(catalogue:)) == true
                    || SequenceClassifierJob.handles(data: dataOptions.data, model: model) || textColumn != nil {
                    throw MPILaunch.unsupported("training on text")
                }
            }
            if (dashboard || serve.histogramEvery != nil), model.flatMap(ClassicKind.named) != nil {
                throw RunError(op: "train", "--dashboard and --histogram-every are for networks; classic models are fitted in one pass")
            }
            let observers = serve.observers(dashboard: dashboard)
            // Before the paths that read no generated set (texts), so that their options are never ignored.
            _ = try dataOptions.generatedSet(op: "train")
            if transfer.encoder != nil || !transfer.given.isEmpty {
                try TransferClassifierJob.train(try transferRequest(observers: observers), catalog: transfer.catalog,
                                                output: writeToStandardOutput)
                return
            }
            if let model, let kind = ClassicKind.named(model) {
                try ClassicJob.train(try classicRequest(kind), output: writeToStandardOutput)
                return
            }
            if let option = classicOptions.given.first {
                throw RunError(op: "train", "\(option) is for the classic models (--model knn, tree or forest); --model \(model ?? "mlp") is a network")
            }
            if text != nil || dataOptions.data.map(TextSource.isText(catalogue:)) == true {
                var request = try languageModelRequest()
                request.observers = observers
                try LanguageModelJob.train(request, output: writeToStandardOutput)
                return
            }
            if SequenceClassifierJob.handles(data: dataOptions.data, model: model) || textColumn != nil {
                var source = SequenceSource.catalogue(name: dataOptions.data ?? "")
                if let csv = dataOptions.csv {
                    guard let textColumn, let label = dataOptions.label else {
                        throw RunError(op: "train", "--csv with --text-column needs --label COLUMN too")
                    }
                    guard label != textColumn else {
                        throw RunError(op: "train", "--label and --text-column both name '\(label)'; the label is another column")
                    }
                    source = .csv(path: csv, textColumn: textColumn, label: label)
                } else if textColumn != nil {
                    throw RunError(op: "train", "--text-column names a column of a --csv file")
                }
                var request = LanguageModelRequest(source: .file(path: ""), out: out)
                request.dataDir = dataOptions.dataDir
                if let model, model != "lstm" && model != "gru" {
                    throw RunError(op: "train", "--model \(model) cannot classify text sequences; expected lstm or gru")
                }
                request.cell = model.flatMap(CharLanguageModel.Cell.init(rawValue:)) ?? .lstm
                request.overwrite = overwrite
                request.maxParameters = maxParameters
                request.verbosity = training.verbosity
                // 128 and 128: test accuracy on sms-spam over seeds 0-4, LSTM 97.6% -> 98.2%, GRU 97.8% -> 98.2%
                // against 64 and 64 (README, Language models).
                request.embedding = embedding ?? 128
                var settings = TrainSettings()
                let given = training.settings
                settings.optimizer = given.optimizer
                settings.seed = given.seed
                settings.weightDecay = given.weightDecay
                settings.learningRate = given.learningRate
                settings.batchSize = training.batchSize ?? 32
                settings.epochs = training.epochs ?? 5
                settings.testSplit = training.testSplit ?? 0.2
                settings.validationSplit = training.validationSplit ?? 0.1
                settings.clipGradNorm = training.clipGradNorm ?? 5
                settings.patience = given.patience
                settings.cosine = training.cosine ?? false
                request.settings = settings
                request.hidden = hidden.flatMap { Int($0) } ?? 128
                request.layers = numLayers ?? 1
                request.sequenceLength = seqLen ?? 100
                request.observers = observers
                try SequenceClassifierJob.train(source, request, output: writeToStandardOutput)
                return
            }
            if seqLen != nil || numLayers != nil || embedding != nil {
                throw RunError(op: "train", "--seq-len, --num-layers and --embedding are for language models (--text FILE or a text data set)")
            }
            var request = TrainRequest(source: try dataOptions.source(required: true)!, out: out)
            request.dataDir = dataOptions.dataDir
            request.model = model ?? "mlp"
            if let hidden {
                let sizes = hidden.split(separator: ",", omittingEmptySubsequences: false)
                    .map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw RunError(op: "train", "--hidden must list positive sizes like 512,256, got '\(hidden)'")
                }
                request.hidden = sizes.map { $0! }
            }
            request.activation = activation
            request.dropout = dropout
            request.layers = layers
            request.settings = training.settings
            request.given = training.given
            request.overwrite = overwrite
            request.maxParameters = maxParameters
            try dataOptions.apply(to: &request.settings)
            request.verbosity = training.verbosity
            request.observers = observers
            request.distributed = distributed
            try TrainJob.train(request, output: writeToStandardOutput)
        }
    }
}

extension Train {
    /// The request of `train --encoder NAME`; throws on every option that does not apply.
    func transferRequest(observers: RunObservers) throws -> TransferClassifierJob.Request {
        guard let encoder = transfer.encoder else {
            throw RunError(op: "train", "\(transfer.given.first!) is for transfer learning; give --encoder NAME too")
        }
        let source: SequenceSource
        switch (dataOptions.data, dataOptions.csv) {
        case ("sms-spam"?, nil):
            guard textColumn == nil else { throw RunError(op: "train", "--text-column names a column of a --csv file") }
            source = .catalogue(name: "sms-spam")
        case (nil, let csv?):
            guard let textColumn, let label = dataOptions.label else {
                throw RunError(op: "train", "--encoder with --csv needs --text-column COLUMN (the texts) and --label COLUMN")
            }
            source = .csv(path: csv, textColumn: textColumn, label: label)
        case (let data?, nil):
            throw RunError(op: "train", "--encoder embeds texts; --data \(data) is not a text classification set (use sms-spam, or --csv FILE --text-column COL --label COL)")
        case (.some, .some):
            throw RunError("give either --data or --csv, not both")
        case (nil, nil):
            throw RunError(op: "train", "no data: give --data sms-spam or --csv FILE --text-column COL --label COL with --encoder")
        }
        let ignored = [("--model", model != nil), ("--hidden", hidden != nil), ("--layers", layers != nil), ("--dropout", dropout != nil),
                       ("--text", text != nil), ("--seq-len", seqLen != nil), ("--num-layers", numLayers != nil),
                       ("--embedding", embedding != nil), ("--augment", training.augment)]
        if let option = ignored.first(where: \.1)?.0 {
            throw RunError(op: "train", "\(option) does not apply to --encoder: the model is the encoder and a linear layer (see --fine-tune)")
        }
        if let option = classicOptions.given.first { throw RunError(op: "train", "\(option) is for the classic models, not --encoder") }
        var request = TransferClassifierJob.Request(source: source, encoder: encoder, out: out)
        let fineTune = transfer.fineTune ?? 0
        var s = request.settings
        let given = training.settings
        s.optimizer = given.optimizer
        s.seed = given.seed
        s.weightDecay = given.weightDecay
        s.momentum = given.momentum
        s.patience = given.patience
        s.clipGradNorm = given.clipGradNorm
        s.loss = given.loss
        s.checkpointEvery = given.checkpointEvery
        // Fine-tuning: a smaller step for the head (the layers take a tenth of it) and fewer, dearer epochs.
        s.learningRate = training.lr ?? (fineTune > 0 ? 1e-3 : s.learningRate)
        s.epochs = training.epochs ?? (fineTune > 0 ? 3 : s.epochs)
        s.batchSize = training.batchSize ?? s.batchSize
        s.testSplit = training.testSplit ?? s.testSplit
        s.validationSplit = training.validationSplit ?? s.validationSplit
        s.cosine = training.cosine ?? s.cosine
        request.settings = s
        request.fineTune = fineTune
        request.encoderLearningRate = transfer.encoderLR
        request.dataDir = dataOptions.dataDir
        request.overwrite = overwrite
        request.verbosity = training.verbosity
        request.observers = observers
        return request
    }
}

/// `train --encoder NAME [--fine-tune N] [--encoder-lr X] [--models-dir DIR]`.
struct TransferOptions: ParsableArguments {
    @Option(help: "Classify texts (--data sms-spam, or --csv with --text-column) on this pretrained sentence encoder's vectors (known: \(Pretrained.entries.map(\.name).joined(separator: ", "))); a linear layer is trained on them.")
    var encoder: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("With --encoder: also train the encoder's top N layers (default 0: the encoder is frozen).", valueName: "n"))
    var fineTune: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("With --fine-tune: the fine-tuned layers' learning rate (default: a tenth of --lr).", valueName: "x"))
    var encoderLR: Double?
    @Option(help: "Folder with pretrained models (<folder>/all-minilm-l6-v2/...); then $MYELIN_MODELS, then the cache, then the Hugging Face hub.")
    var modelsDir: String?

    /// The transfer options given other than --encoder.
    var given: [String] {
        [("--fine-tune", fineTune != nil), ("--encoder-lr", encoderLR != nil), ("--models-dir", modelsDir != nil)].filter(\.1).map(\.0)
    }

    var catalog: EncoderCatalog { .registry(modelsDir: modelsDir) }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a run from its last checkpoint.")
    @Argument(help: "The run folder.") var folder: String
    @Option(parsing: .unconditional, help: "Train up to this many epochs in all (default: the run's own).") var epochs: Int?
    @Option(help: "Folder with the data sets.") var dataDir: String?
    @Flag(help: "One line per epoch instead of a progress bar.") var quiet = false
    @Option(parsing: .unconditional, help: "Threads for kernels and BLAS (default: all cores; results are bit for bit only with the run's own count).") var threads: Int?
    @Option(help: "A transfer classifier's folder of pretrained models (then $MYELIN_MODELS, the cache, the hub).") var modelsDir: String?
    @Flag(help: "Serve a live dashboard of the run while it trains.") var dashboard = false
    @OptionGroup(title: "Dashboard") var serve: ServeOptions
    @Flag(help: "Under mpirun: batch norm (bn layers) with statistics over all ranks' batches.") var syncBn = false

    func run() throws {
        runOrFail {
            try serve.check(dashboard: dashboard, op: "resume")
            if let threads {
                guard threads >= 1, threads <= 1024 else { throw RunError(op: "resume", "--threads must be between 1 and 1024, got \(threads)") }
                Threading.count = threads
            }
            let distributed = try MPILaunch.detect(syncBatchNorm: syncBn, threadsGiven: threads != nil, op: "resume")
            if distributed != nil && (dashboard || serve.histogramEvery != nil) { throw MPILaunch.unsupported("--dashboard", op: "resume") }
            try TrainJob.resume(folder, epochs: epochs, dataDir: dataDir, verbosity: quiet ? .epoch : .auto,
                                observers: serve.observers(dashboard: dashboard), encoders: .registry(modelsDir: modelsDir),
                                distributed: distributed, output: writeToStandardOutput)
        }
    }
}

/// Runs `body`, printing any error on one line of stderr and exiting non-zero.
/// Under MPI, a rank that succeeded finalises MPI; one that failed exits without, and `mpirun`
/// then stops the other ranks.
func runOrFail(_ body: () throws -> Void) {
    do { try body() } catch { fail("\(error)".replacingOccurrences(of: "\n", with: "; ")) }
    MPILaunch.finish()
}
