import Foundation
import MyelinCore
import MyelinData

extension SequenceSource {
    /// The messages of the source, each message's class index and the class names (`ham`, `spam`
    /// for sms-spam; a CSV label column's values, sorted). Throws `RunError`/`DataError` in one line.
    ///
    /// ```swift
    /// let m = try SequenceSource.catalogue(name: "sms-spam").messages(dataDir: nil, op: "train")
    /// ```
    public func messages(dataDir: String?, op: String) throws -> (texts: [String], labels: [Int64], classNames: [String]) {
        switch self {
        case .catalogue(let name):
            guard name == "sms-spam", let path = try Catalogue(dataDir: dataDir).locate(name)["data"] else {
                throw RunError(op: op, "'\(name)' has no messages to classify")
            }
            let (texts, labelNames) = try SMSSpam.read(path: path)
            return (texts, try SMSSpam.encodeLabels(labelNames, path: path).scalars(as: Int64.self), ["ham", "spam"])
        case .csv(let path, let text, let label):
            let (texts, labelNames) = try CSVTextColumns.read(path: path, text: text, label: label)
            let classNames = Set(labelNames).sorted()
            guard classNames.count >= 2 else {
                throw RunError(op: op, "\(path): the label column '\(label)' has \(classNames.count) class; a classifier needs 2 or more")
            }
            let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, Int64($0)) })
            return (texts, labelNames.map { index[$0]! }, classNames)
        }
    }
}

/// Which messages train, validate and test a text classifier: the test part a stratified, seeded
/// `testSplit` of all, validation a stratified `validationSplit` of the rest (seed + 1). Indices
/// into the source's messages, in the order drawn.
///
/// ```swift
/// let split = MessageSplit(labels: labels, settings: settings)   // split.test: [Int]
/// ```
public struct MessageSplit: Codable, Equatable, Sendable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    public init(labels: [Int64], settings: TrainSettings) {
        let all = Tensor(shape: [labels.count], scalars: labels)
        let (rest, test) = RunData.split(all, fraction: settings.testSplit, stratified: true, seed: settings.seed)
        var (train, validation) = (rest, [Int]())
        if settings.validationSplit > 0 {
            let restLabels = Tensor(shape: [rest.count], scalars: rest.map { labels[$0] })
            let (keep, held) = RunData.split(restLabels, fraction: settings.validationSplit, stratified: true, seed: settings.seed &+ 1)
            (train, validation) = (keep.map { rest[$0] }, held.map { rest[$0] })
        }
        self.train = train
        self.validation = validation
        self.test = test
    }
}
