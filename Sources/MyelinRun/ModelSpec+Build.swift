import MyelinCore
import MyelinNN

extension ModelSpec {
    /// The network this spec describes, as a `Sequential` ending in a dense layer to `outputs`.
    ///
    /// Weights are drawn from `generator`, so the same spec and seed give the same network.
    ///
    /// ```swift
    /// let model = try ModelSpec.mlp(input: [4], outputs: 3, hidden: [16]).build(generator: RandomGenerator(seed: 0))
    /// ```
    /// `normalization` builds the `bn` layers instead of `BatchNorm1d`/`BatchNorm2d` (given the
    /// channels and whether the input is an image), as data-parallel training's `SyncBatchNorm`.
    public func build(generator: RandomGenerator, normalization: ((_ features: Int, _ images: Bool) -> Module)? = nil) throws -> Sequential {
        let shapes = try self.shapes()
        var modules: [Module] = []
        var shape = inputShape
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .dense(let units):
                if shape.count != 1 { modules.append(Flatten()) }
                modules.append(Linear(shape.reduce(1, *), units, generator: generator))
            case .activation(let name):
                do {
                    modules.append(try ActivationTable.layer(name))
                } catch let error as ActivationError {
                    throw ModelSpecError("layer \(i + 1): \(error.reason)")
                }
            case .dropout(let p):
                modules.append(shape.count == 3 ? Dropout2d(p, generator: generator) as Module : Dropout(p, generator: generator))
            case .conv(let filters, let kernel, let stride):
                modules.append(Conv2d(inChannels: shape[0], outChannels: filters, kernelSize: Size2D(kernel),
                                      stride: Size2D(stride), padding: .size(Size2D(kernel / 2)), generator: generator))
            case .maxPool(let k):
                modules.append(MaxPool2d(kernelSize: Size2D(k)))
            case .avgPool(let k):
                modules.append(AvgPool2d(kernelSize: Size2D(k)))
            case .globalAvgPool:
                modules.append(GlobalAvgPool2d())
            case .batchNorm:
                if let normalization {
                    modules.append(normalization(shape[0], shape.count == 3))
                } else {
                    modules.append(shape.count == 3 ? BatchNorm2d(shape[0]) as Module : BatchNorm1d(shape[0]))
                }
            case .flatten:
                modules.append(Flatten())
            }
            shape = shapes[i]
        }
        if shape.count != 1 { modules.append(Flatten()) }
        modules.append(Linear(shape.reduce(1, *), outputs, generator: generator))
        return Sequential(modules)
    }

    /// Whether the network has convolutional layers (their first layer's filters can be drawn).
    public var isConvolutional: Bool {
        layers.contains { if case .conv = $0 { return true } else { return false } }
    }
}
