import MyelinCore
import MyelinNN
import MyelinPlot

/// Pictures of what a CNN learned: the first convolution's filters and one image's feature maps
/// after each convolution (post-activation when an activation follows), as image grids.
public enum FilterPictures {
    /// Writes `filters.svg`, `input.svg` and `feature-maps-<layer>.svg` (plus `.png` copies when
    /// `png`) into `run`; returns the files written (none for a network without convolutions).
    ///
    /// ```swift
    /// let files = try FilterPictures.write(model: model, sample: testImages[0..<1], to: RunFolder("runs/cnn"))
    /// ```
    public static func write(model: Sequential, sample: Tensor, to run: RunFolder, png: Bool = false) throws -> [String] {
        guard let first = model.layers.first(where: { $0 is Conv2d }) as? Conv2d else { return [] }
        var written: [String] = []
        func save(_ grid: ImageGrid, _ name: String) throws {
            try grid.svg().write(to: run.file(name + ".svg"))
            written.append(run.file(name + ".svg"))
            if png {
                try grid.pngImage(scale: 4).write(to: run.file(name + ".png"))
                written.append(run.file(name + ".png"))
            }
        }
        try save(ImageGrid(images: first.filters, scaling: .perImage), "filters")
        try save(ImageGrid(images: sample, scaling: .perImage), "input")
        model.eval()
        try withoutGrad {
            var x = sample
            var pending: (index: Int, maps: Tensor)? = nil
            for (i, layer) in model.layers.enumerated() {
                x = layer(x)
                if layer is Conv2d {
                    if let p = pending { try save(grid(p.maps), "feature-maps-\(p.index)") }
                    pending = (i, x)
                } else if pending != nil && isActivation(layer) {
                    pending!.maps = x
                } else if let p = pending {
                    try save(grid(p.maps), "feature-maps-\(p.index)")
                    pending = nil
                }
                if x.rank != 4 { break }
            }
            if let p = pending { try save(grid(p.maps), "feature-maps-\(p.index)") }
        }
        return written
    }

    /// One grey image per channel of a `[1, C, H, W]` map.
    static func grid(_ maps: Tensor) -> ImageGrid {
        ImageGrid(images: maps.reshape([maps.shape[1], maps.shape[2], maps.shape[3]]), scaling: .perImage)
    }

    static func isActivation(_ layer: Module) -> Bool {
        layer is ReLU || layer is Tanh || layer is Sigmoid || layer is GELU || layer is ELU || layer is LeakyReLU
            || layer is SiLU || layer is Softplus || layer is BatchNorm2d
    }
}
