import Foundation
import MyelinCore
import MyelinNN

/// A network described by data: what `myelin train` builds, saves beside the weights as JSON and
/// rebuilds for `evaluate`, `predict` and `resume`.
///
/// ```swift
/// let spec = try ModelSpec.parse("conv:32:3,relu,maxpool:2,flatten,dense:128,relu", input: [1, 28, 28], outputs: 10)
/// let model = spec.build(seed: 0)   // a Sequential ending in Linear(128, 10)
/// ```
public struct ModelSpec: Codable, Equatable, Sendable {
    /// One block of the network. The final `dense` to `outputs` units is implied.
    public enum Layer: Codable, Equatable, Sendable {
        case dense(units: Int)
        case activation(String)
        case dropout(Double)
        /// Square kernel, stride, zero padding of `kernel / 2` ("same" at stride 1).
        case conv(filters: Int, kernel: Int, stride: Int)
        case maxPool(Int)
        case avgPool(Int)
        case globalAvgPool
        case batchNorm
        case flatten

        /// Whether the layer works on `[channels, height, width]` maps (convolutions and pools).
        public var needsImage: Bool {
            switch self {
            case .conv, .maxPool, .avgPool, .globalAvgPool: true
            case .dense, .activation, .dropout, .batchNorm, .flatten: false
            }
        }
    }

    /// Shape of one example (`[784]`, `[1, 28, 28]`, `[4]`).
    public var inputShape: [Int]
    /// Units of the last layer: classes for classification, targets for regression.
    public var outputs: Int
    public var layers: [Layer]

    public init(inputShape: [Int], outputs: Int, layers: [Layer]) {
        self.inputShape = inputShape
        self.outputs = outputs
        self.layers = layers
    }

    /// The largest layer width (`dense:N`, conv filters) a spec accepts: beyond it sizes overflow
    /// memory long before they mean anything.
    public static let maxWidth = 1 << 24
    /// The largest kernel, pool size or stride a spec accepts.
    public static let maxKernel = 4096

    /// A multilayer perceptron: `hidden` dense layers each followed by the activation and dropout.
    ///
    /// The activation is a token of `ActivationTable` (`relu`, `leaky_relu:0.1`).
    public static func mlp(input: [Int], outputs: Int, hidden: [Int], activation: String = "relu",
                           dropout: Double = 0) throws -> ModelSpec {
        let activation = try canonicalActivation(activation)
        for units in hidden where units < 1 || units > maxWidth {
            throw ModelSpecError("hidden layer size \(units) must be between 1 and \(maxWidth) (no network that wide fits the parameter budget)")
        }
        guard dropout.isFinite, dropout >= 0, dropout < 1 else {
            throw ModelSpecError("dropout must be in [0, 1), got \(dropout)")
        }
        var layers: [Layer] = input.count > 1 ? [.flatten] : []
        for units in hidden {
            layers += [.dense(units: units), .activation(activation)]
            if dropout > 0 { layers.append(.dropout(dropout)) }
        }
        let spec = ModelSpec(inputShape: input, outputs: outputs, layers: layers)
        _ = try spec.shapes()
        return spec
    }

    /// The LeNet-like default of `--model cnn`: two 3x3 convolutions with pooling, then a dense layer.
    public static func cnn(input: [Int], outputs: Int, dropout: Double = 0.25) throws -> ModelSpec {
        try parse("conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dropout:\(dropout)",
                  input: input, outputs: outputs)
    }

    /// Reads a comma-separated list of blocks: `dense:N` (or just `N`), an activation name,
    /// `dropout:P`, `conv:FILTERS:KERNEL[:STRIDE]`, `maxpool:K`, `avgpool:K`, `gap`, `bn`, `flatten`.
    public static func parse(_ text: String, input: [Int], outputs: Int) throws -> ModelSpec {
        var layers: [Layer] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = raw.trimmingCharacters(in: .whitespaces).lowercased()
            let parts = token.split(separator: ":").map(String.init)
            func int(_ i: Int, _ what: String) throws -> Int {
                guard i < parts.count, let v = Int(parts[i]), v > 0 else {
                    throw ModelSpecError("layer '\(token)': \(what) must be a positive integer")
                }
                let limit = what == "units" || what == "filters" ? maxWidth : maxKernel
                guard v <= limit else {
                    throw ModelSpecError("layer '\(token)': \(what) \(v) is above the limit of \(limit)"
                                         + (limit == maxWidth ? " (no network that wide fits the parameter budget)" : ""))
                }
                return v
            }
            switch parts.first ?? "" {
            case "dense", "linear": layers.append(.dense(units: try int(1, "units")))
            case let name where Int(name) != nil && parts.count == 1: layers.append(.dense(units: try int(0, "units")))
            case let name where ActivationTable.kind(named: name) != nil:
                do {
                    layers.append(.activation(try ActivationTable.parse(token)!))
                } catch let error as ActivationError {
                    throw ModelSpecError("layer '\(token)': \(error.reason)")
                }
            case "dropout":
                guard parts.count == 2, let p = Double(parts[1]), p.isFinite, p >= 0, p < 1 else {
                    throw ModelSpecError("layer '\(token)': dropout needs a probability in [0, 1), as dropout:0.2")
                }
                layers.append(.dropout(p))
            case "conv":
                guard parts.count == 3 || parts.count == 4 else {
                    throw ModelSpecError("layer '\(token)': expected conv:FILTERS:KERNEL or conv:FILTERS:KERNEL:STRIDE")
                }
                layers.append(.conv(filters: try int(1, "filters"), kernel: try int(2, "kernel"),
                                    stride: parts.count == 4 ? try int(3, "stride") : 1))
            case "maxpool": layers.append(.maxPool(try int(1, "kernel")))
            case "avgpool": layers.append(.avgPool(try int(1, "kernel")))
            case "gap" where parts.count == 1: layers.append(.globalAvgPool)
            case "bn" where parts.count == 1, "batchnorm" where parts.count == 1: layers.append(.batchNorm)
            case "flatten" where parts.count == 1: layers.append(.flatten)
            default:
                throw ModelSpecError("unknown layer '\(token)'; expected dense:N, N, \(ActivationTable.usageList), "
                                     + "dropout:P, conv:F:K[:S], maxpool:K, avgpool:K, gap, bn or flatten")
            }
        }
        let spec = ModelSpec(inputShape: input, outputs: outputs, layers: layers)
        _ = try spec.shapes()
        return spec
    }

    /// The per-example shape after each layer (the implied output layer last); throws when a
    /// layer cannot take its input (a convolution on flat data, a pool larger than the map).
    public func shapes() throws -> [[Int]] {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("input shape \(inputShape) must be non-empty and positive")
        }
        guard outputs > 0 else { throw ModelSpecError("the model needs at least one output, got \(outputs)") }
        var shape = inputShape
        var result: [[Int]] = []
        for (i, layer) in layers.enumerated() {
            let at = "layer \(i + 1) (\(layer.token))"
            switch layer {
            case .dense(let units):
                shape = [units]
            case .activation(let name):
                // Also checks a hand-edited model.json, whose activations never went through `parse`.
                guard (try? ActivationTable.parse(name)) != nil else {
                    throw ModelSpecError("\(at) names no activation; expected one of \(ActivationTable.usageList)")
                }
            case .dropout:
                break
            case .conv(let filters, let kernel, let stride):
                guard shape.count == 3 else { throw ModelSpecError("\(at) needs [channels, height, width] input, got \(shape)") }
                let pad = kernel / 2
                let h = (shape[1] + 2 * pad - kernel) / stride + 1, w = (shape[2] + 2 * pad - kernel) / stride + 1
                guard h > 0, w > 0 else { throw ModelSpecError("\(at) cannot take a \(shape[1])x\(shape[2]) map") }
                shape = [filters, h, w]
            case .maxPool(let k), .avgPool(let k):
                guard shape.count == 3 else { throw ModelSpecError("\(at) needs [channels, height, width] input, got \(shape)") }
                guard shape[1] >= k, shape[2] >= k else { throw ModelSpecError("\(at) cannot pool a \(shape[1])x\(shape[2]) map") }
                shape = [shape[0], shape[1] / k, shape[2] / k]
            case .globalAvgPool:
                guard shape.count == 3 else { throw ModelSpecError("\(at) needs [channels, height, width] input, got \(shape)") }
                shape = [shape[0]]
            case .batchNorm:
                guard shape.count == 1 || shape.count == 3 else { throw ModelSpecError("\(at) cannot normalise \(shape)") }
            case .flatten:
                shape = [shape.reduce(1, *)]
            }
            result.append(shape)
        }
        if shape.count != 1 { shape = [shape.reduce(1, *)] }
        result.append([outputs])
        return result
    }

    /// The canonical token of an activation as `--activation` gives it (`leaky_relu:0.1` too).
    static func canonicalActivation(_ token: String) throws -> String {
        do {
            guard let canonical = try ActivationTable.parse(token) else {
                throw ModelSpecError("unknown activation '\(token)'; expected one of \(ActivationTable.usageList)")
            }
            return canonical
        } catch let error as ActivationError {
            throw ModelSpecError("activation '\(token)': \(error.reason)")
        }
    }

    /// The spec as `--layers` text (round-trips through `parse`).
    public var layersText: String { layers.map(\.token).joined(separator: ",") }
}

extension ModelSpec.Layer {
    /// This layer's `--layers` token.
    public var token: String {
        switch self {
        case .dense(let units): return "dense:\(units)"
        case .activation(let name): return name
        case .dropout(let p): return "dropout:\(p)"
        case .conv(let f, let k, let s): return s == 1 ? "conv:\(f):\(k)" : "conv:\(f):\(k):\(s)"
        case .maxPool(let k): return "maxpool:\(k)"
        case .avgPool(let k): return "avgpool:\(k)"
        case .globalAvgPool: return "gap"
        case .batchNorm: return "bn"
        case .flatten: return "flatten"
        }
    }
}

/// A model description that cannot be built: `[model] layer 3 (maxpool:2) cannot pool a 1x1 map`.
public struct ModelSpecError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "[model] " + message }
}
