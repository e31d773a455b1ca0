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
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        self.layers = layers
        super.init()
    }

    public convenience init(@SequentialBuilder _ build: () -> [Module]) {
        self.init(build())
    }

    public override func forward(_ input: Tensor) -> Tensor {
        layers.reduce(input) { x, layer in layer(x) }
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
