import MyelinCore

/// How the rows of a table of pixel values are laid out as images: row-major pixels of one
/// `[channels, height, width]` image, with `maxValue` the brightest pixel.
///
/// ```swift
/// let layout = Catalogue.imageLayout("digits")!      // [1, 8, 8], pixel counts 0-16
/// let images = layout.images(Tensor.zeros([5, 64]))  // [5, 1, 8, 8], in [0, 1]
/// ```
public struct ImageLayout: Sendable, Equatable {
    /// `[channels, height, width]` of one image.
    public let shape: [Int]
    /// The pixel value that becomes 1 (pixels are divided by it).
    public let maxValue: Float

    public init(shape: [Int], maxValue: Float) {
        require(shape.count == 3 && shape.allSatisfy { $0 > 0 } && maxValue > 0,
                     "[imageLayout] shape \(shape) must be [channels, height, width] and maxValue \(maxValue) positive")
        self.shape = shape
        self.maxValue = maxValue
    }

    /// Pixels per image.
    public var pixels: Int { shape.reduce(1, *) }

    /// `[N, pixels]` rows of pixel values as `[N] + shape` images in [0, 1], as MNIST's are read.
    public func images(_ rows: Tensor) -> Tensor {
        require(rows.rank == 2 && rows.shape[1] == pixels,
                     "[imageLayout] rows \(rows.shape) must be [N, \(pixels)] for images of \(shape)")
        return (rows.to(.float32) / Double(maxValue)).reshape([rows.shape[0]] + shape)
    }
}

extension Catalogue {
    /// Tables whose features are the pixels of an image; a convolutional network reads them as images.
    static let imageLayouts: [String: ImageLayout] = [
        "digits": ImageLayout(shape: [1, 8, 8], maxValue: 16),
    ]

    /// The image layout of a catalogue table of pixels (`digits`), nil for other sets.
    public static func imageLayout(_ name: String) -> ImageLayout? { imageLayouts[name] }

    /// Reads a table of pixels (`digits`) as images in [0, 1] of its layout's shape, with the
    /// split `load` makes for the same seed and fraction (the same rows in each part).
    ///
    /// ```swift
    /// let digits = try Catalogue().loadImages("digits")   // inputShape [1, 8, 8]
    /// ```
    public func loadImages(_ name: String, seed: UInt64 = 0, testFraction: Double = 0.2) throws -> CatalogueDataset {
        guard let layout = Catalogue.imageLayout(name) else {
            let tables = Catalogue.imageLayouts.keys.sorted().joined(separator: ", ")
            throw DataError(op: "data", reason: "'\(name)' is not a table of pixels; only \(tables) can be read as images")
        }
        let table = try load(name, seed: seed, testFraction: testFraction)
        guard table.inputShape == [layout.pixels] else {
            throw DataError(op: "data", reason: "'\(name)' has \(table.inputShape) features, not the \(layout.pixels) pixels of a \(layout.shape) image")
        }
        func images(_ part: TensorDataset) -> TensorDataset {
            TensorDataset(inputs: layout.images(part.inputs), targets: part.targets)
        }
        return CatalogueDataset(name: name, train: images(table.train), test: images(table.test), classNames: table.classNames,
                                featureNames: table.featureNames, inputShape: layout.shape, task: table.task,
                                vocabulary: table.vocabulary, files: table.files)
    }
}
