import Foundation

// Full training checkpoints: everything a run needs to continue bit for bit (weights, buffers,
// optimiser and scheduler state, counters, random generators) in one `.safetensors` file.
//
// Layout of the file: tensors `model.<name>` (the model's state dict, PyTorch names) and
// `optimizer.<name>` (the optimiser's state tensors); the safetensors `__metadata__` holds
// `myelin.checkpoint`, a JSON document with everything else, and `myelin.checkpoint.crc32`, a CRC-32
// of the tensors (names, dtypes, shapes, values) and that document. Every number in the document is
// a decimal string: Swift's shortest round-trip form for doubles (`inf` and `nan` included, which
// JSON numbers cannot hold) and exact digits for the 64-bit generator words, which a JSON number
// (a Double to most readers) would round. Restoring validates every piece against the live objects
// before changing any of them (see Checkpoint+Restore.swift).

/// A learning-rate scheduler a checkpoint can hold: every `LRScheduler` and `ReduceLROnPlateau`.
public protocol CheckpointableScheduler: AnyObject {
    /// The optimiser whose rates the scheduler sets.
    var optimizer: Optimizer { get }
    /// The scheduler's counters and rates.
    func stateDict() -> SchedulerState
    /// Puts back counters and rates exported by `stateDict()`.
    func load(_ state: SchedulerState)
}

extension LRScheduler: CheckpointableScheduler {}
extension ReduceLROnPlateau: CheckpointableScheduler {}

/// Why a checkpoint cannot be saved, read or restored, on one line with every problem found:
/// `[checkpoint] run/ckpt.safetensors: header length 9000 exceeds the 120 bytes after it (truncated ...)`
/// or `[checkpoint] cannot restore: model: missing fc2.bias; optimizer: ...`.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file saved or read (`<data>` for bytes in memory); nil when restoring.
    public let file: String?
    /// Every problem, each naming the piece and the numbers.
    public let problems: [String]

    public var description: String {
        let text = (file.map { "\($0): " } ?? "cannot restore: ") + problems.joined(separator: "; ")
        return "[checkpoint] " + text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}

/// A snapshot of a training run from which it resumes bit for bit: the model's weights and
/// buffers, the optimiser's state, a scheduler's state, epoch and step counters, the states of the
/// random generators in use and free-form metadata.
///
/// A captured checkpoint is a value: training on afterwards does not change it (tensors are
/// copied on write).
///
/// ```swift
/// let ckpt = Checkpoint.capture(model: model, optimizer: opt, scheduler: scheduler, epoch: epoch,
///                               step: step, generators: ["loader": shuffle, "dropout": dropoutRNG])
/// try ckpt.save(to: "run/last.safetensors")
/// // ... later, in a new process, after building the same model, optimiser and scheduler:
/// let resumed = try Checkpoint.load(from: "run/last.safetensors")
/// try resumed.restore(model: model, optimizer: opt, scheduler: scheduler,
///                     generators: ["loader": shuffle, "dropout": dropoutRNG])
/// for epoch in resumed.epoch..<epochs { ... }
/// ```
public struct Checkpoint {
    /// The version of the file layout this Myelin writes and reads.
    public static let formatVersion = 1
    /// The `__metadata__` key of the JSON document.
    static let documentKey = "myelin.checkpoint"
    /// The `__metadata__` key of the CRC-32 (8 hex digits).
    static let checksumKey = "myelin.checkpoint.crc32"

    /// The model's parameters and buffers by PyTorch-style name (`Module.stateDict()`).
    public var modelState: [String: Tensor]
    /// The optimiser's buffers, step counts and group options (`Optimizer.stateDict()`).
    public var optimizerState: OptimizerState
    /// The optimiser's class (`"Adam"`): restoring checks it, since one optimiser's state means
    /// nothing to another.
    public var optimizerType: String
    /// The scheduler's counters and rates, if one was captured.
    public var schedulerState: SchedulerState?
    /// The scheduler's class (`"CosineAnnealingLR"`), if one was captured.
    public var schedulerType: String?
    /// The caller's epoch counter (Myelin does not interpret it).
    public var epoch: Int
    /// The caller's step counter (Myelin does not interpret it).
    public var step: Int
    /// The state of `Random.global` (`RandomGenerator.state`).
    public var globalRandomState: [UInt64]
    /// The states of the named generators the caller passed.
    public var randomStates: [String: [UInt64]]
    /// Free-form notes (run name, git commit, validation loss...).
    public var metadata: [String: String]

    /// Takes a snapshot of a run: weights, buffers, optimiser and scheduler state, counters, and
    /// the states of `Random.global` and of the named generators.
    ///
    /// Pass every generator training draws from besides the global one (the data loader's
    /// shuffling generator, a Dropout's), under names that `restore` will use again. Gradients and
    /// train/eval mode are not captured: capture between steps, as a training loop does.
    ///
    /// ```swift
    /// let ckpt = Checkpoint.capture(model: model, optimizer: opt, epoch: 3, step: 1200,
    ///                               generators: ["loader": shuffle], metadata: ["val_loss": "0.31"])
    /// ```
    public static func capture(model: Module, optimizer: Optimizer, scheduler: (any CheckpointableScheduler)? = nil,
                               epoch: Int = 0, step: Int = 0, generators: [String: RandomGenerator] = [:],
                               metadata: [String: String] = [:]) -> Checkpoint {
        capture(model: model, optimizer: optimizer, scheduler: scheduler, epoch: epoch, step: step,
                generators: generators, metadata: metadata, global: Random.global)
    }

    /// `capture` with `global` standing in for `Random.global` (tests run in parallel, and must
    /// not move the real global generator under one another).
    static func capture(model: Module, optimizer: Optimizer, scheduler: (any CheckpointableScheduler)?,
                        epoch: Int, step: Int, generators: [String: RandomGenerator],
                        metadata: [String: String], global: RandomGenerator) -> Checkpoint {
        Checkpoint(modelState: model.stateDict(), optimizerState: optimizer.stateDict(),
                   optimizerType: typeName(optimizer), schedulerState: scheduler?.stateDict(),
                   schedulerType: scheduler.map { typeName($0) }, epoch: epoch, step: step,
                   globalRandomState: global.state, randomStates: generators.mapValues(\.state), metadata: metadata)
    }

    static func typeName(_ object: AnyObject) -> String { String(describing: type(of: object)) }

    // MARK: writing

    /// The bytes of the checkpoint file (deterministic: equal checkpoints give equal bytes).
    ///
    /// ```swift
    /// let bytes = ckpt.encoded()
    /// let back = try Checkpoint.decode(bytes)
    /// ```
    public func encoded() -> [UInt8] {
        var tensors: [String: Tensor] = [:]
        for (name, t) in modelState { tensors["model." + name] = t }
        for (name, t) in optimizerState.tensors { tensors["optimizer." + name] = t }
        return Self.fileBytes(tensors: tensors, document: documentJSON())
    }

    /// A safetensors file of `tensors` with `document` and its checksum in the metadata. Tests use
    /// it to make files that pass the checksum but carry a bad document. The checkpoint's own
    /// checksum covers the tensors and the document, so the plain safetensors one (`myelin.crc32`)
    /// is not added: one pass over the data per save and load, and the layout stays version 1's.
    static func fileBytes(tensors: [String: Tensor], document: String) -> [UInt8] {
        Safetensors.encode(tensors, metadata: [documentKey: document, checksumKey: checksum(tensors, document)], checksum: false)
    }

    /// Writes the checkpoint to `path` atomically: a temporary file in the same folder, flushed to
    /// disk and renamed over the target, so a crash mid-save leaves the previous file intact.
    /// Failures throw `CheckpointError`.
    ///
    /// ```swift
    /// try ckpt.save(to: "run/last.safetensors")
    /// ```
    public func save(to path: String) throws {
        try save(to: path, interruptAfter: nil)
    }

    /// `save`, optionally failing after `interruptAfter` bytes have been written, as a crash or a
    /// full disk would (for tests).
    func save(to path: String, interruptAfter: Int?) throws {
        let bytes = encoded()
        try AtomicFile.write(path, error: { CheckpointError(file: path, problems: ["cannot save: " + $0]) }) { sink in
            if let cut = interruptAfter {
                try sink.write(Array(bytes.prefix(cut)))
                throw CheckpointError(file: path, problems: ["cannot save: interrupted after \(cut) of \(bytes.count) bytes"])
            }
            try sink.write(bytes)
        }
    }

    // MARK: reading

    /// Reads a checkpoint file; anything unreadable, truncated, corrupt or not a checkpoint throws
    /// `CheckpointError`.
    ///
    /// ```swift
    /// let ckpt = try Checkpoint.load(from: "run/last.safetensors")
    /// print(ckpt.epoch, ckpt.metadata)
    /// ```
    public static func load(from path: String) throws -> Checkpoint {
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path)
        } catch let e as FileError {
            throw CheckpointError(file: path, problems: [e.reason])
        }
        return try decode(bytes, file: path)
    }

    /// Parses the bytes of a checkpoint file, checking the structure, the checksum and every field.
    ///
    /// ```swift
    /// let ckpt = try Checkpoint.decode(try AtomicFile.read("run/last.safetensors"))
    /// ```
    public static func decode(_ bytes: [UInt8], file: String = "<data>") throws -> Checkpoint {
        func fail(_ reason: String) -> CheckpointError { CheckpointError(file: file, problems: [reason]) }
        let tensors: [String: Tensor], meta: [String: String]
        do {
            (tensors, meta) = try Safetensors.decode(bytes, file: file)
        } catch let e as SafetensorsError {
            throw fail(e.reason)
        }
        guard let json = meta[documentKey] else {
            throw fail("not a Myelin checkpoint: the safetensors metadata has no \(documentKey) entry (a weights-only file loads with Module.load(from:))")
        }
        // The version is read first, so a newer file is reported as newer rather than as corrupt.
        struct Versioned: Decodable { var version: Int }
        guard let version = try? JSONDecoder().decode(Versioned.self, from: Data(json.utf8)).version else {
            throw fail("the \(documentKey) metadata is not a JSON document with a format version")
        }
        guard version == formatVersion else {
            throw fail("format version \(version); this Myelin reads version \(formatVersion)")
        }
        guard let stored = meta[checksumKey] else { throw fail("the metadata has no \(checksumKey) entry") }
        let actual = checksum(tensors, json)
        guard stored == actual else {
            throw fail("the contents have CRC-32 \(actual), the file records \(stored): the file is corrupt")
        }
        let doc: Document
        do {
            doc = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        } catch {
            throw fail("the \(documentKey) document is malformed: \(describe(error))")
        }
        var problems: [String] = []
        var model: [String: Tensor] = [:], optimizerTensors: [String: Tensor] = [:]
        for (name, t) in tensors {
            if name.hasPrefix("model.") {
                model[String(name.dropFirst(6))] = t
            } else if name.hasPrefix("optimizer.") {
                optimizerTensors[String(name.dropFirst(10))] = t
            } else {
                problems.append("unexpected tensor \(name) (a checkpoint's tensors are named model.* or optimizer.*)")
            }
        }
        let optimizerScalars = parseNumbers(doc.optimizer.scalars, "optimizer scalar", &problems)
        var scheduler: SchedulerState?
        if let s = doc.scheduler {
            scheduler = SchedulerState(
                scalars: parseNumbers(s.scalars, "scheduler scalar", &problems),
                lists: (s.lists ?? [:]).reduce(into: [:]) { out, entry in
                    out[entry.key] = entry.value.enumerated().map { i, text in
                        parseNumber(text, "scheduler list \(entry.key)[\(i)]", &problems)
                    }
                })
        }
        let global = parseGenerator(doc.generators.global, "global", &problems)
        var named: [String: [UInt64]] = [:]
        for (name, words) in doc.generators.named { named[name] = parseGenerator(words, name, &problems) }
        if !problems.isEmpty { throw CheckpointError(file: file, problems: problems.sorted()) }
        return Checkpoint(modelState: model, optimizerState: OptimizerState(tensors: optimizerTensors, scalars: optimizerScalars),
                          optimizerType: doc.optimizer.type, schedulerState: scheduler, schedulerType: doc.scheduler?.type,
                          epoch: doc.epoch, step: doc.step, globalRandomState: global, randomStates: named,
                          metadata: doc.metadata)
    }

    // MARK: the JSON document

    /// Everything but the tensors; numbers as decimal strings (see the top of this file).
    struct Document: Codable {
        struct Part: Codable {
            var type: String
            var scalars: [String: String]
            var lists: [String: [String]]?
        }
        struct Generators: Codable {
            var global: [String]
            var named: [String: [String]]
        }
        var version: Int
        var epoch: Int
        var step: Int
        var optimizer: Part
        var scheduler: Part?
        var generators: Generators
        var metadata: [String: String]
    }

    func documentJSON() -> String {
        let doc = Document(
            version: Self.formatVersion, epoch: epoch, step: step,
            optimizer: .init(type: optimizerType, scalars: optimizerState.scalars.mapValues { "\($0)" }, lists: nil),
            scheduler: schedulerState.map { s in
                .init(type: schedulerType ?? "", scalars: s.scalars.mapValues { "\($0)" },
                      lists: s.lists.mapValues { $0.map { "\($0)" } })
            },
            generators: .init(global: globalRandomState.map { String($0) },
                              named: randomStates.mapValues { $0.map { String($0) } }),
            metadata: metadata)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, integers and optionals of them always encode.
        return String(decoding: try! encoder.encode(doc), as: UTF8.self)
    }

    /// `Double(text)` reads back exactly what `"\(d)"` wrote, `inf` and `nan` included.
    static func parseNumber(_ text: String, _ what: String, _ problems: inout [String]) -> Double {
        if let v = Double(text) { return v }
        problems.append("\(what) is \"\(text)\", not a number")
        return .nan
    }

    static func parseNumbers(_ dict: [String: String], _ what: String, _ problems: inout [String]) -> [String: Double] {
        dict.reduce(into: [:]) { out, entry in out[entry.key] = parseNumber(entry.value, "\(what) \(entry.key)", &problems) }
    }

    /// A generator state: 6 unsigned 64-bit words in decimal, the last a 0/1 flag.
    static func parseGenerator(_ words: [String], _ name: String, _ problems: inout [String]) -> [UInt64] {
        let values = words.compactMap { UInt64($0) }
        if values.count != words.count {
            problems.append("generator \(name) has words that are not unsigned 64-bit integers: \(words)")
        } else if let p = generatorStateProblem(values) {
            problems.append("generator \(name) \(p)")
        }
        return values
    }

    /// Why `state` cannot be a `RandomGenerator.state`, or nil.
    static func generatorStateProblem(_ state: [UInt64]) -> String? {
        if state.count != 6 { return "has a state of \(state.count) words, not 6" }
        if state[5] > 1 { return "has a spare-normal flag of \(state[5]), not 0 or 1" }
        return nil
    }

    /// A decoding error on one line: where and what.
    static func describe(_ error: Error) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return (p.isEmpty ? "" : "at \(p): ") + c.debugDescription
        }
        switch error {
        case DecodingError.keyNotFound(let key, let c): return "missing \(key.stringValue)" + (c.codingPath.isEmpty ? "" : " in \(path(c))")
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            return path(c)
        default: return "\(error)"
        }
    }

    // MARK: checksum

    /// CRC-32 (8 hex digits) of every tensor's name, dtype, shape and values in name order, then of
    /// the document: a flipped byte anywhere in what the file means changes it.
    static func checksum(_ tensors: [String: Tensor], _ document: String) -> String {
        var crc = CRC32()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            crc.update("\(name)\0\(t.dtype.rawValue)\0\(t.shape)\0")
            switch t.dtype {
            case .float32: t.withUnsafeBufferPointer(as: Float.self) { crc.update(UnsafeRawBufferPointer($0)) }
            case .float64: t.withUnsafeBufferPointer(as: Double.self) { crc.update(UnsafeRawBufferPointer($0)) }
            case .int32: t.withUnsafeBufferPointer(as: Int32.self) { crc.update(UnsafeRawBufferPointer($0)) }
            case .int64: t.withUnsafeBufferPointer(as: Int64.self) { crc.update(UnsafeRawBufferPointer($0)) }
            case .bool: t.withUnsafeBufferPointer(as: Bool.self) { crc.update(UnsafeRawBufferPointer($0)) }
            }
        }
        crc.update(document)
        return crc.hex
    }
}
