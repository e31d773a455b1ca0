/// Layers applied one after another; children are named "0", "1", ... as in PyTorch.
///
/// ```swift
/// let model = Sequential {
///     Linear(784, 512)
///     ReLU()
///     Dropout(0.2)
///     Linear(512, 10)
/// }
/// let same = Sequential([Linear(784, 512), ReLU(), Linear(512, 10)])
/// ```
///
/// Recurrent layers sit in it directly (their output sequence is passed on) or through
/// `RecurrentOutput` (last step, carried state). Called with a `SequenceBatch`, it passes the
/// lengths or mask to each `SequenceLayer` and `RecurrentLayer` while the values keep the batch's
/// `[batch, time]` leading sizes; other layers get the values alone.
///
/// ```swift
/// let classifier = Sequential { Embedding(100, 16); RecurrentOutput(rnn, returning: .lastStep); Linear(32, 2) }
/// let logits = classifier(SequenceBatch(tokens, paddingIndex: 0))     // [batch, 2]
/// ```
public final class Sequential: Module, SequenceLayer {
    public let layers: [Module]
    /// For each layer, the layers after it that its kernel applies itself, run as one call:
    /// - a `Linear` followed by an activation layer the linear kernel applies (batch-1 inference
    ///   runs the pair as one kernel call, `Linear.forward(_:then:)`);
    /// - a `Conv2d` followed by `ReLU` and/or `MaxPool2d(kernelSize: 2)`, applied while the output
    ///   is in cache (`Conv2d.forward(_:then:)`), in training too;
    /// - an `Embedding` followed by a recurrent layer (`LSTM`, `GRU`, `RNN`), whose first input
    ///   projection then goes through the vocabulary (`RNNBase.run(tokens:embedding:state:)`).
    private let fusions: [Fusion?]

    private enum Fusion {
        case linear(LinearActivation)
        case conv(ConvEpilogue, layers: Int)
        case tokens
    }

    public init(_ layers: [Module]) {
        self.layers = layers
        fusions = layers.indices.map { i in
            guard i + 1 < layers.count else { return nil }
            if layers[i] is Linear { return LinearActivation(layer: layers[i + 1]).map { .linear($0) } }
            if layers[i] is Embedding && layers[i + 1] is RNNBase { return .tokens }
            guard layers[i] is Conv2d else { return nil }
            var epilogue = ConvEpilogue(), next = i + 1
            if layers[next] is ReLU { epilogue.relu = true; next += 1 }
            if next < layers.count, let pool = layers[next] as? MaxPool2d, pool.kernelSize == 2, pool.stride == 2,
               pool.padding == 0 {
                epilogue.maxPool2x2 = true
                next += 1
            }
            return epilogue == .identity ? nil : .conv(epilogue, layers: next - i)
        }
        super.init()
    }

    public convenience init(@SequentialBuilder _ build: () -> [Module]) {
        self.init(build())
    }

    public override func forward(_ input: Tensor) -> Tensor {
        // A module summary records each layer's call: the pairs then run apart, and a convolution's
        // row says what runs fused into it.
        if ModuleSummaryRecorder.current != nil {
            return layers.indices.reduce(input) { x, i in
                guard case .conv(let epilogue, _)? = fusions[i] else { return layers[i](x) }
                return Conv2d.$summaryEpilogue.withValue(epilogue) { layers[i](x) }
            }
        }
        var x = input, i = 0
        while i < layers.count {
            switch fusions[i] {
            case .linear(let activation)?:
                x = (layers[i] as! Linear).forward(x, then: activation)
                i += 2
            case .conv(let epilogue, let count)?:
                x = (layers[i] as! Conv2d).forward(x, then: epilogue)
                i += count
            case .tokens?:
                x = (layers[i + 1] as! RNNBase).run(tokens: x, embedding: layers[i] as! Embedding, state: nil).output
                i += 2
            case nil:
                x = layers[i](x)
                i += 1
            }
        }
        return x
    }

    /// The layers in turn, the lengths or mask going to those that take them.
    public func forward(_ input: SequenceBatch) -> Tensor {
        layers.reduce(input.values) { x, layer in
            input.isMasked && input.matches(x.shape) ? layer.forwardMasked(input.with(values: x)) : layer(x)
        }
    }

    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    /// The layer at `index`.
    public subscript(index: Int) -> Module { layers[index] }
    public var count: Int { layers.count }
}

/// The result builder behind `Sequential { ... }`: one layer per line, with `if`, `for` and arrays.
@resultBuilder
public enum SequentialBuilder {
    public static func buildExpression(_ layer: Module) -> [Module] { [layer] }
    public static func buildExpression(_ layers: [Module]) -> [Module] { layers }
    public static func buildBlock(_ parts: [Module]...) -> [Module] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Module]?) -> [Module] { part ?? [] }
    public static func buildEither(first: [Module]) -> [Module] { first }
    public static func buildEither(second: [Module]) -> [Module] { second }
    public static func buildArray(_ parts: [[Module]]) -> [Module] { parts.flatMap { $0 } }
}
