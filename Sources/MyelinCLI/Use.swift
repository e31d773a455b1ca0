import ArgumentParser
import Foundation
import Myelin
import MyelinRun

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained run: its own test data, a catalogue data set's test part, or a labelled CSV file.")
    @Argument(help: "The run folder.") var folder: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "A transfer classifier's folder of pretrained models (then $MYELIN_MODELS, the cache, the hub).") var modelsDir: String?

    func run() throws {
        runOrFail {
            try dataOptions.refuseTrainingOnly(op: "evaluate")
            let kind = TransferClassifierJob.isTransferRun(folder) ? "transfer classifier"
                : LanguageModelJob.isLanguageModelRun(folder) ? "language model"
                : SequenceClassifierJob.isSequenceClassifierRun(folder) ? "sequence classifier" : nil
            // These runs are evaluated on their own test part only: other data must not be ignored silently.
            if let kind, try dataOptions.source(required: false, labelRequired: false, op: "evaluate") != nil {
                throw RunError(op: "evaluate", "\(folder) holds a \(kind), which is evaluated on its own test part; "
                               + "--data and --csv are for runs on tables and images")
            }
            if TransferClassifierJob.isTransferRun(folder) {
                print(try TransferClassifierJob.evaluate(folder, dataDir: dataOptions.dataDir, catalog: .registry(modelsDir: modelsDir)),
                      terminator: "")
                return
            }
            if LanguageModelJob.isLanguageModelRun(folder) {
                print(try LanguageModelJob.evaluate(folder, dataDir: dataOptions.dataDir), terminator: "")
                return
            }
            if SequenceClassifierJob.isSequenceClassifierRun(folder) {
                print(try SequenceClassifierJob.evaluate(folder, dataDir: dataOptions.dataDir), terminator: "")
                return
            }
            let source = try dataOptions.source(required: false, labelRequired: false, op: "evaluate")
            let (evaluation, classes) = try withWarnings { try UseJobs.evaluate(folder, source: source, dataDir: dataOptions.dataDir) }
            print(evaluation.line)
            if let confusion = evaluation.confusion {
                print(confusion.report(classNames: classes))
            }
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict with a trained run: CSV, IDX images or .npy in, CSV of predictions (and class probabilities) out.")
    @Argument(help: "The run folder.") var folder: String
    @Option(help: "Examples to predict: a CSV file (label column optional), an IDX image file (.gz or raw) or a .npy array; for a sequence classifier (sms-spam --model lstm), a text file of one message a line (blank lines skipped).")
    var input: String?
    @Option(help: "A message to classify with a sequence classifier (repeatable).") var text: [String] = []
    @Option(help: "Write the CSV here (atomically) instead of stdout.") var output: String?
    @Option(help: "A transfer classifier's folder of pretrained models (then $MYELIN_MODELS, the cache, the hub).") var modelsDir: String?

    func run() throws {
        runOrFail {
            // The file is written inside, so a failed write prints its one error line and no warnings.
            try withWarnings {
                var text: String
                if TransferClassifierJob.isTransferRun(folder) {
                    let messages = try self.text + (input.map { try TransferClassifierJob.texts(in: $0, run: folder) } ?? [])
                    let (csv, truncated) = try TransferClassifierJob.predict(folder, messages: messages, catalog: .registry(modelsDir: modelsDir))
                    text = csv
                    if truncated > 0 { UseJobs.warn("\(truncated) of \(messages.count) texts were cut to the encoder's maximum length") }
                } else if SequenceClassifierJob.isSequenceClassifierRun(folder) {
                    var messages = self.text
                    if let input {
                        // One message a line, CRLF too, blank lines skipped (as for a transfer classifier).
                        do { messages += try EmbedJob.lines(of: input, skippingBlank: true) } catch {
                            throw RunError(op: "predict", "cannot read \(input): \(error)")
                        }
                    }
                    text = try SequenceClassifierJob.predict(folder, messages: messages)
                } else if LanguageModelJob.isLanguageModelRun(folder) {
                    throw RunError(op: "predict", "\(folder) holds a language model; `myelin generate \(folder)` writes text with it")
                } else {
                    guard let input else { throw RunError(op: "predict", "give --input FILE (--text is for sequence classifiers)") }
                    text = try UseJobs.predict(folder, input: input)
                }
                if let output {
                    do { try AtomicFile.write(Array(text.utf8), to: output) } catch { throw RunError("cannot write \(output): \(error)") }
                    FileHandle.standardError.write(Data("wrote \(output)\n".utf8))
                } else {
                    print(text, terminator: "")
                }
            }
        }
    }
}

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a run: data, layers, parameters, settings, results.")
    @Argument(help: "The run folder.") var folder: String
    @Flag(help: "Print the model's forward pass as a captured graph (eval mode, a batch of one).") var graph = false
    @Option(help: "Save the captured graph to this file (load it with Graph.load).") var graphFile: String?

    func run() throws {
        runOrFail { print(try UseJobs.summary(folder, graph: graph, graphFile: graphFile), terminator: "") }
    }
}

struct Datasets: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the catalogue's data sets and where they were found.")
    @Option(help: "Folder with the data sets (searched first).") var dataDir: String?

    func run() throws {
        print(UseJobs.datasets(dataDir: dataDir), terminator: "")
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP on MNIST (or, when MNIST cannot be found, on a built-in data set) and write its plots.")
    @Option(help: "Folder with the data sets.") var dataDir: String?
    @Option(parsing: .unconditional, help: "Epochs (default 10 on MNIST, 40 on the spirals).") var epochs: Int?
    @Option(help: "The run folder to write.") var out = "runs/demo"
    @Flag(help: "Replace the run in --out once the new run has finished.") var overwrite = false
    @Flag(help: "One line per epoch instead of a progress bar.") var quiet = false

    func run() throws {
        runOrFail {
            var request = TrainRequest(source: .catalogue(name: "mnist"), out: out)
            request.overwrite = overwrite
            request.dataDir = dataDir
            request.settings.epochs = epochs ?? 10
            request.settings.cosine = true
            request.verbosity = quiet ? .epoch : .auto
            if Catalogue(dataDir: dataDir, allowDownload: false).status("mnist") == nil {
                // Try the download; without a network fall back to data made on the spot.
                do {
                    _ = try Catalogue(dataDir: dataDir).locate("mnist")
                } catch {
                    print("MNIST is not reachable: \(error)")
                    print("Training on the built-in two-spirals data set instead.")
                    try trainOnSpirals()
                    return
                }
            }
            try TrainJob.train(request, output: writeToStandardOutput)
        }
    }

    func trainOnSpirals() throws {
        // The generated set (`--data spirals --count 2000`): `evaluate` and `resume` make the same
        // points again, and nothing is written outside the run folder (a spirals.csv was, beside it).
        var request = TrainRequest(source: .generated(set: GeneratedSet("spirals", count: 2000, noise: 0.2)), out: out)
        request.overwrite = overwrite
        request.hidden = [64, 64]
        request.settings.epochs = epochs ?? 40
        request.settings.learningRate = 3e-3
        request.verbosity = quiet ? .epoch : .auto
        try TrainJob.train(request, output: writeToStandardOutput)
    }
}

struct Filters: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a CNN run's first-layer filters and one test image's feature maps (SVG, optionally PNG).")
    @Argument(help: "The run folder.") var folder: String
    @Option(parsing: .unconditional, help: "Which test image's feature maps to draw.") var index = 0
    @Flag(help: "Also write PNG files.") var png = false
    @Option(help: "Folder with the data sets.") var dataDir: String?

    func run() throws {
        runOrFail {
            for file in try UseJobs.filters(folder, index: index, dataDir: dataDir, png: png) { print("wrote \(file)") }
        }
    }
}

/// Runs `body` holding back the warnings of reading new data, and prints them on stderr only when
/// it succeeds (a failure is one line).
func withWarnings<T>(_ body: () throws -> T) throws -> T {
    var warnings: [String] = []
    UseJobs.warn = { warnings.append($0) }
    let value = try body()
    for w in warnings { FileHandle.standardError.write(Data((w + "\n").utf8)) }
    return value
}
