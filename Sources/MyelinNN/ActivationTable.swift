/// One activation that a model spec, the `myelin` command and its help may name.
public struct ActivationKind: Sendable {
    /// An optional number after the name and a colon, as the slope in `leaky_relu:0.1`.
    public struct Parameter: Sendable {
        /// The placeholder in help texts: `SLOPE`.
        public let placeholder: String
        /// The value when the token gives none.
        public let defaultValue: Double
        /// The values accepted (a half-open range: `0..<1`).
        public let range: Range<Double>
        /// A valid token to show in error messages: `leaky_relu:0.1`.
        public let example: String
    }

    /// The name in specs and on the command line: `leaky_relu`.
    public let name: String
    /// The number the name may take after a colon, or nil when it takes none.
    public let parameter: Parameter?
    /// One line of help: `max(x, 0)`.
    public let summary: String
    /// The layer, given the token's number (nil when it has none).
    let makeLayer: @Sendable (Double?) -> Module

    /// The name as help shows it: `leaky_relu[:SLOPE]`.
    public var usage: String { parameter.map { "\(name)[:\($0.placeholder)]" } ?? name }
}

/// The activations Myelin's layer factory, model specs and command-line help read: adding an
/// activation is one row here (and its layer class in `Layers+Activation.swift`).
///
/// A token is a name, or a name, a colon and a number when the activation takes one
/// (`leaky_relu:0.2`); `parse` checks it and gives the canonical token that model files store.
///
/// ```swift
/// try ActivationTable.parse("leaky_relu:0.20")   // "leaky_relu:0.2"
/// try ActivationTable.layer("gelu")             // GELU()
/// ActivationTable.usageList                     // "relu, tanh, ..., leaky_relu[:SLOPE], silu, softplus"
/// ```
public enum ActivationTable {
    /// Every activation, in the order help lists them.
    public static let kinds: [ActivationKind] = [
        ActivationKind(name: "relu", parameter: nil, summary: "max(x, 0)") { _ in ReLU() },
        ActivationKind(name: "tanh", parameter: nil, summary: "hyperbolic tangent, in (-1, 1)") { _ in Tanh() },
        ActivationKind(name: "sigmoid", parameter: nil, summary: "1 / (1 + e^-x), in (0, 1)") { _ in Sigmoid() },
        ActivationKind(name: "gelu", parameter: nil, summary: "x * Phi(x), the Gaussian error linear unit (exact)") { _ in GELU() },
        ActivationKind(name: "elu", parameter: nil, summary: "x for x > 0, e^x - 1 otherwise") { _ in ELU() },
        ActivationKind(name: "leaky_relu",
                       parameter: .init(placeholder: "SLOPE", defaultValue: 0.01, range: 0..<1, example: "leaky_relu:0.1"),
                       summary: "x for x > 0, SLOPE * x otherwise (default 0.01)") { LeakyReLU(slope: $0 ?? 0.01) },
        ActivationKind(name: "silu", parameter: nil, summary: "x * sigmoid(x) (swish)") { _ in SiLU() },
        ActivationKind(name: "softplus", parameter: nil, summary: "log(1 + e^x), a smooth relu") { _ in Softplus() },
    ]

    /// The names alone: `["relu", "tanh", ...]`.
    public static var names: [String] { kinds.map(\.name) }

    /// The activation called `name`, or nil.
    public static func kind(named name: String) -> ActivationKind? {
        kinds.first { $0.name == name }
    }

    /// The usages joined for one line of help or an error message: `relu, tanh, ..., leaky_relu[:SLOPE], ...`.
    public static var usageList: String { kinds.map(\.usage).joined(separator: ", ") }

    /// One line per activation, usage and summary in two columns, for a command's help.
    public static var helpTable: String {
        let width = kinds.map(\.usage.count).max() ?? 0
        return kinds.map { $0.usage + String(repeating: " ", count: width - $0.usage.count + 2) + $0.summary }
            .joined(separator: "\n")
    }

    /// The canonical token for `token` (`leaky_relu:0.20` gives `leaky_relu:0.2`), or nil when the
    /// part before any colon names no activation; a known name with a bad number throws.
    public static func parse(_ token: String) throws -> String? {
        let parts = token.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let kind = kind(named: parts[0]) else { return nil }
        guard parts.count > 1 else { return kind.name }
        guard let parameter = kind.parameter else {
            throw ActivationError("\(kind.name) takes no parameter, got '\(token)'")
        }
        guard parts.count == 2, let value = Double(parts[1]), value.isFinite, parameter.range.contains(value) else {
            func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)" }
            throw ActivationError("\(kind.name) needs a \(parameter.placeholder.lowercased()) in "
                                  + "[\(text(parameter.range.lowerBound)), \(text(parameter.range.upperBound))), as \(parameter.example)")
        }
        return "\(kind.name):\(value)"
    }

    /// The layer for `token` (a name, or a name and its number).
    ///
    /// ```swift
    /// let act = try ActivationTable.layer("leaky_relu:0.2")   // LeakyReLU(slope: 0.2)
    /// ```
    public static func layer(_ token: String) throws -> Module {
        guard let canonical = try parse(token) else {
            throw ActivationError("unknown activation '\(token)'; expected one of \(usageList)")
        }
        let parts = canonical.split(separator: ":").map(String.init)
        return kind(named: parts[0])!.makeLayer(parts.count > 1 ? Double(parts[1]) : nil)
    }
}

/// A token that names no activation or gives a bad number: `[activation] leaky_relu needs a slope in [0, 1), as leaky_relu:0.1`.
public struct ActivationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong, without the `[activation]` prefix, for callers that add their own context.
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "[activation] " + reason }
}
