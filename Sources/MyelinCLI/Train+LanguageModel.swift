import ArgumentParser
import Foundation
import Myelin
import MyelinRun

extension Train {
    /// The request for a character-level language model (`--text FILE` or a text data set):
    /// the acceptance set-up's settings unless given.
    func languageModelRequest() throws -> LanguageModelRequest {
        let source: TextSource
        switch (text, dataOptions.data, dataOptions.csv) {
        case (let file?, nil, nil): source = .file(path: file)
        case (nil, let name?, nil): source = .catalogue(name: name)
        default: throw RunError(op: "train", "give one of --text FILE, --data NAME or --csv FILE")
        }
        var request = LanguageModelRequest(source: source, out: out)
        request.dataDir = dataOptions.dataDir
        if let model {
            guard let cell = CharLanguageModel.Cell(rawValue: model) else {
                throw RunError(op: "train", "--model \(model) cannot learn a text; expected lstm, gru or rnn")
            }
            request.cell = cell
        }
        if let hidden {
            guard let size = Int(hidden.trimmingCharacters(in: .whitespaces)) else {
                throw RunError(op: "train", "--hidden is one size for recurrent models, like 256; got '\(hidden)'")
            }
            request.hidden = size
        }
        if layers != nil || dropout != nil || activation != "relu" {
            throw RunError(op: "train", "--layers, --dropout and --activation are not used by language models")
        }
        // Options of tables and images, refused rather than ignored.
        let unused = [("--label", dataOptions.label != nil), ("--task", dataOptions.task != nil), ("--missing", dataOptions.missing != nil),
                      ("--categorical-encoding", dataOptions.categoricalEncoding != nil), ("--augment", training.augment)]
            .filter(\.1).map(\.0)
        if !unused.isEmpty {
            throw RunError(op: "train", "\(unused.joined(separator: ", ")) \(unused.count == 1 ? "does" : "do") not apply to language models "
                           + "(they learn the next character of the text)")
        }
        request.layers = numLayers ?? request.layers
        request.embedding = embedding ?? request.embedding
        request.sequenceLength = seqLen ?? request.sequenceLength
        let given = training.settings
        var s = LanguageModelRequest.defaultSettings
        s.optimizer = given.optimizer
        s.weightDecay = given.weightDecay
        s.momentum = given.momentum
        s.seed = given.seed
        s.patience = given.patience
        s.checkpointEvery = given.checkpointEvery
        s.loss = given.loss
        if training.lr != nil { s.learningRate = given.learningRate }
        if training.batchSize != nil { s.batchSize = given.batchSize }
        if training.epochs != nil { s.epochs = given.epochs }
        if let split = training.testSplit { s.testSplit = split }
        if let split = training.validationSplit { s.validationSplit = split }
        if let clip = training.clipGradNorm { s.clipGradNorm = clip }
        if let cosine = training.cosine { s.cosine = cosine }
        request.settings = s
        request.overwrite = overwrite
        request.maxParameters = maxParameters
        request.verbosity = training.verbosity
        return request
    }
}
