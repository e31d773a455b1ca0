/// Collects each layer's output shape during the dry run of `Module.summary(inputShape:)`.
// @unchecked (a task-local value must be Sendable): `rows` is appended only on the thread running the summary, which bound it.
final class ModuleSummaryRecorder: @unchecked Sendable {
    /// Set while a summary runs, for its thread (or task) only, so that modules running elsewhere
    /// at the same time do not report to it; `callAsFunction` reports to it.
    @TaskLocal static var current: ModuleSummaryRecorder?
    /// Each recorded call: the module and its output shape (with a note, such as a state's shapes).
    var rows: [(module: ObjectIdentifier, output: String)] = []

    func record(_ module: Module, output: Tensor, note: String? = nil) {
        rows.append((ObjectIdentifier(module), note.map { "\(output.shape) (\($0))" } ?? "\(output.shape)"))
    }
}

extension Module {
    /// A Keras-style table of the layers: name, type, output shape for a batch of `inputShape`
    /// (batch dimension included), parameter count, and the totals.
    ///
    /// ```swift
    /// print(model.summary(inputShape: [1, 784]))
    /// ```
    /// ```
    /// Layer    Type     Output shape   Params
    /// ───────────────────────────────────────
    /// 0        Linear   [1, 512]       401,920
    /// 1        ReLU     [1, 512]             0
    /// ...
    /// Total params: 535,818 (trainable 535,818)
    /// ```
    public func summary(inputShape: [Int], dtype: DType = .float32) -> String {
        summary(running: { _ = self(Tensor.zeros(inputShape, dtype: dtype)) })
    }

    /// The summary for sequences with lengths or a mask: the model is run on `input` (through
    /// its `SequenceLayer` or `RecurrentLayer` call if it has one, else on the values alone).
    ///
    /// ```swift
    /// print(model.summary(input: SequenceBatch(Tensor.zeros([2, 7, 4]), lengths: [7, 3])))
    /// ```
    public func summary(input: SequenceBatch) -> String {
        summary(running: { _ = self.forwardMasked(input) })
    }

    /// The summary of whatever `forwardPass` runs, for models called with more than one tensor
    /// (a state, a mask, several inputs): each layer's row shows the output of its last call.
    /// The pass runs in eval mode without recording a graph; carried states are left as they were.
    ///
    /// ```swift
    /// print(model.summary(running: { _ = model(x, state: h0) }))
    /// ```
    public func summary(running forwardPass: () -> Void) -> String {
        let recorder = ModuleSummaryRecorder()
        let wasTraining = isTraining
        eval()
        ModuleSummaryRecorder.$current.withValue(recorder) {
            withoutCarriedStates { withoutGrad { forwardPass() } }
        }
        train(wasTraining)
        var outputShapes: [ObjectIdentifier: String] = [:]
        for row in recorder.rows { outputShapes[row.module] = row.output }

        var table: [[String]] = [["Layer", "Type", "Output shape", "Params"]]
        for (name, module) in namedModules() where !name.isEmpty {
            let own = module.namedOwnParameters().reduce(0) { $0 + $1.1.count }
            let depth = name.split(separator: ".").count - 1
            let shape = outputShapes[ObjectIdentifier(module)] ?? "-"
            table.append([String(repeating: "  ", count: depth) + name, module.typeName, shape, own.grouped])
        }
        if table.count == 1 {
            table.append([typeName, typeName, outputShapes[ObjectIdentifier(self)] ?? "-", parameterCount.grouped])
        }
        let widths = (0..<4).map { c in table.map { $0[c].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            (0..<4).map { c in c == 3 ? pad(row[c], widths[c], left: true) : pad(row[c], widths[c], left: false) }
                .joined(separator: "   ")
        }
        var out = [line(table[0]), String(repeating: "─", count: widths.reduce(0, +) + 9)]
        out += table.dropFirst().map(line)
        out.append(String(repeating: "─", count: widths.reduce(0, +) + 9))
        out.append("Total params: \(parameterCount.grouped) (trainable \(trainableParameterCount.grouped))")
        if let final = outputShapes[ObjectIdentifier(self)] { out.append("Output shape: \(final)") }
        return out.joined(separator: "\n")
    }
}

private func pad(_ s: String, _ width: Int, left: Bool) -> String {
    let fill = String(repeating: " ", count: Swift.max(0, width - s.count))
    return left ? fill + s : s + fill
}

