import MyelinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded transform of a whole batch of images (NCHW float32), for `DataLoader.augmenting(_:)`.
///
/// ```swift
/// let augment = Compose([RandomAffine(maxShift: 2, maxRotationDegrees: 10), Normalize(mean: [0.1307], std: [0.3081])])
/// let out = augment(images, generator: RandomGenerator(seed: 0))
/// ```
public protocol BatchTransform {
    func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor
}

/// Draws `count` uniforms in [0, 1) as Doubles.
func uniforms(_ count: Int, _ generator: RandomGenerator) -> [Double] {
    count == 0 ? [] : Tensor.uniform([count], dtype: .float64, generator: generator).scalars(as: Double.self)
}

/// Draws `count` integers in `low...high`.
func integers(_ count: Int, _ low: Int, _ high: Int, _ generator: RandomGenerator) -> [Int] {
    count == 0 ? [] : Tensor.randint(low, high + 1, shape: [count], generator: generator).ints
}

func checkNCHW(_ images: Tensor, _ op: String) -> (Int, Int, Int, Int) {
    require(images.rank == 4, "[\(op)] images must be [N, C, H, W], got \(images.shape)")
    return (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
}

/// Applies transforms in order.
public struct Compose: BatchTransform {
    public let transforms: [any BatchTransform]
    public init(_ transforms: [any BatchTransform]) { self.transforms = transforms }
    public func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor {
        transforms.reduce(images) { $1($0, generator: generator) }
    }
}

/// `(x - mean[c]) / std[c]` per channel (one value broadcasts to every channel). Not random.
public struct Normalize: BatchTransform {
    public let mean: [Double]
    public let std: [Double]
    public init(mean: [Double], std: [Double]) {
        require(mean.count == std.count && !mean.isEmpty, "[normalize] need as many means as stds, got \(mean.count) and \(std.count)")
        require(std.allSatisfy { $0 != 0 }, "[normalize] std must not be 0")
        self.mean = mean
        self.std = std
    }
    public func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor { callAsFunction(images) }
    public func callAsFunction(_ images: Tensor) -> Tensor {
        let (n, c, h, w) = checkNCHW(images, "Normalize")
        require(mean.count == 1 || mean.count == c, "[normalize] \(mean.count) means for \(c) channels")
        var out = images.to(.float32).contiguous()
        let plane = h * w
        out.withUnsafeMutableBufferPointer(as: Float.self) { p in
            for i in 0..<n {
                for ch in 0..<c {
                    let m = Float(mean[mean.count == 1 ? 0 : ch]), s = 1 / Float(std[std.count == 1 ? 0 : ch])
                    let base = (i * c + ch) * plane
                    for k in base..<base + plane { p[k] = (p[k] - m) * s }
                }
            }
        }
        return out
    }
}

/// Zero-pads by `padding` on each side, then cuts a random `size`×`size` window per image.
public struct RandomCrop: BatchTransform {
    public let size: Int
    public let padding: Int
    public init(size: Int, padding: Int = 0) {
        require(size > 0 && padding >= 0, "[randomCrop] size must be positive and padding non-negative")
        self.size = size
        self.padding = padding
    }
    public func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor {
        let (n, c, h, w) = checkNCHW(images, "RandomCrop")
        let ph = h + 2 * padding, pw = w + 2 * padding
        require(size <= ph && size <= pw, "[randomCrop] crop \(size) is larger than the padded image \(ph)x\(pw)")
        let tops = integers(n, 0, ph - size, generator), lefts = integers(n, 0, pw - size, generator)
        var out = Tensor.zeros([n, c, size, size])
        let src = images.to(.float32).contiguous()
        src.withUnsafeBufferPointer(as: Float.self) { s in
            out.withUnsafeMutableBufferPointer(as: Float.self) { d in
                for i in 0..<n {
                    for ch in 0..<c {
                        let sBase = (i * c + ch) * h * w, dBase = (i * c + ch) * size * size
                        for y in 0..<size {
                            let sy = y + tops[i] - padding
                            guard sy >= 0 && sy < h else { continue }
                            for x in 0..<size {
                                let sx = x + lefts[i] - padding
                                if sx >= 0 && sx < w { d[dBase + y * size + x] = s[sBase + sy * w + sx] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Mirrors each image left-right with probability `p`.
public struct RandomHorizontalFlip: BatchTransform {
    public let p: Double
    public init(p: Double = 0.5) { self.p = p }
    public func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor {
        let (n, c, h, w) = checkNCHW(images, "RandomHorizontalFlip")
        let draws = uniforms(n, generator)
        var out = images.to(.float32).contiguous()
        out.withUnsafeMutableBufferPointer(as: Float.self) { d in
            for i in 0..<n where draws[i] < p {
                for row in 0..<(c * h) {
                    let base = (i * c * h + row) * w
                    var a = base, b = base + w - 1
                    while a < b { d.swapAt(a, b); a += 1; b -= 1 }
                }
            }
        }
        return out
    }
}

/// A random shift (whole pixels, up to `maxShift` each way) and rotation (up to
/// `maxRotationDegrees` either way, about the centre) per image, bilinear, zeros outside: the
/// usual augmentation for digits.
public struct RandomAffine: BatchTransform {
    public let maxShift: Int
    public let maxRotationDegrees: Double
    public init(maxShift: Int, maxRotationDegrees: Double) {
        self.maxShift = maxShift
        self.maxRotationDegrees = maxRotationDegrees
    }
    public func callAsFunction(_ images: Tensor, generator: RandomGenerator) -> Tensor {
        let (n, c, h, w) = checkNCHW(images, "RandomAffine")
        let dx = integers(n, -maxShift, maxShift, generator), dy = integers(n, -maxShift, maxShift, generator)
        let angles = uniforms(n, generator).map { ($0 * 2 - 1) * maxRotationDegrees * Double.pi / 180 }
        var out = Tensor.zeros([n, c, h, w])
        let src = images.to(.float32).contiguous()
        let cy = Double(h - 1) / 2, cx = Double(w - 1) / 2
        src.withUnsafeBufferPointer(as: Float.self) { s in
            out.withUnsafeMutableBufferPointer(as: Float.self) { d in
                for i in 0..<n {
                    let cosA = cos(angles[i]), sinA = sin(angles[i])
                    for y in 0..<h {
                        for x in 0..<w {
                            // Inverse map: output pixel -> source position (undo shift, then rotation).
                            let ox = Double(x - dx[i]) - cx, oy = Double(y - dy[i]) - cy
                            let sx = cosA * ox + sinA * oy + cx, sy = -sinA * ox + cosA * oy + cy
                            let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                            let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
                            for ch in 0..<c {
                                let base = (i * c + ch) * h * w
                                func at(_ yy: Int, _ xx: Int) -> Float {
                                    yy >= 0 && yy < h && xx >= 0 && xx < w ? s[base + yy * w + xx] : 0
                                }
                                let top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
                                let bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
                                d[base + y * w + x] = top * (1 - fy) + bottom * fy
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
