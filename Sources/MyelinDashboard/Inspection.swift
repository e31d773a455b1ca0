import Foundation
import MyelinCore
import MyelinNN
import MyelinTrain

/// A look inside the model between two batches, as the dashboard's inspect view shows it: every
/// layer's parameters by name, and for one layer its weights and gradients as numbers, its output
/// on the last batch, and that batch's inputs, outputs, targets and loss.
///
/// Tensors are sent as shape and values (row-major, float64); values beyond `limit` are cut (the
/// shape still says the whole size and `truncated` is set), batch tensors keep their first `rows`.
public struct Inspection: Codable, Sendable {
    public struct Values: Codable, Sendable {
        public var shape: [Int]
        public var values: [Double?]
        public var truncated: Bool
    }

    public struct ParameterView: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var value: Values?
        public var grad: Values?
    }

    public struct LayerName: Codable, Sendable {
        public var name: String
        public var parameters: [String]
    }

    public var step: Int
    public var epoch: Int
    public var batch: Int
    public var loss: Double?
    public var layers: [LayerName]
    public var layer: String?
    public var parameters: [ParameterView]
    public var activation: Values?
    public var inputs: Values?
    public var outputs: Values?
    public var targets: Values?

    /// The most values of one tensor sent to the page.
    public static let limit = 65_536
    /// The batch rows sent of inputs, outputs, targets and activations.
    public static let rows = 16

    /// The inspection of `layer` (nil: the first layer with parameters) at the current batch of
    /// `ctx`, as JSON; runs on the trainer's thread.
    static func json(_ ctx: TrainingContext, layer: String?) -> String {
        let inspection = make(ctx, layer: layer)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(inspection) else { return #"{"error":"cannot encode the inspection"}"# }
        return String(decoding: data, as: UTF8.self)
    }

    static func make(_ ctx: TrainingContext, layer wanted: String?) -> Inspection {
        let model = ctx.model
        let named = model.namedParameters()
        // Layers as `activations()` names them ("0 Linear"); a parameter "0.weight" belongs to "0 ...".
        let activations = ctx.activations()
        let layerNames: [String] = activations.count > 1 || model is Sequential ? activations.map(\.name) : [model.typeName]
        func owner(_ parameter: String) -> String? {
            guard model is Sequential else { return layerNames.first }
            let index = parameter.split(separator: ".").first.map(String.init) ?? ""
            return layerNames.first { $0.split(separator: " ").first.map(String.init) == index }
        }
        let layers = layerNames.map { name in
            LayerName(name: name, parameters: named.filter { owner($0.0) == name }.map(\.0))
        }
        let chosen = wanted.flatMap { w in layerNames.first { $0 == w } }
            ?? layers.first { !$0.parameters.isEmpty }?.name ?? layerNames.first
        let parameters = named.filter { chosen != nil && owner($0.0) == chosen }.map { name, p in
            ParameterView(name: name, shape: p.shape, value: values(p.value, rows: nil), grad: p.grad.map { values($0, rows: nil) })
        }
        let activation = activations.first { $0.name == chosen }.map { values($0.value, rows: rows) }
        return Inspection(step: ctx.step, epoch: ctx.epoch, batch: ctx.batch, loss: ctx.loss.map { $0.detached().item() },
                          layers: layers, layer: chosen, parameters: parameters, activation: activation,
                          inputs: ctx.inputs.map { values($0, rows: rows) }, outputs: ctx.outputs.map { values($0.detached(), rows: rows) },
                          targets: ctx.targets.map { values($0, rows: rows) })
    }

    /// The first `rows` rows (all when nil) of `t`, at most `limit` values.
    static func values(_ t: Tensor, rows: Int?) -> Values {
        var shape = t.shape
        var x = t
        if let rows, shape.count > 0, shape[0] > rows {
            x = t[0..<rows]
            shape[0] = rows
        }
        let all = x.doubles
        let kept = all.prefix(limit).map { $0.isFinite ? Optional($0) : nil }
        return Values(shape: shape, values: kept, truncated: all.count > limit)
    }
}
