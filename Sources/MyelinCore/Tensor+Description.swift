import Foundation
import Synchronization

/// How tensors print; change `Tensor.printOptions` to see more or fewer elements.
public struct TensorPrintOptions: Sendable {
    /// Tensors with more elements than this are summarised with `...`.
    public var threshold = 1000
    /// Elements shown at each end of a summarised axis.
    public var edgeItems = 3
    /// Digits after the decimal point for floats.
    public var precision = 4
    public init() {}
}

extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    public static var printOptions: TensorPrintOptions {
        get { _printOptions.withLock { $0 } }
        set { _printOptions.withLock { $0 = newValue } }
    }
    private static let _printOptions = Mutex(TensorPrintOptions())

    /// NumPy/PyTorch-like text: nested brackets with aligned columns, then shape and dtype (and,
    /// as PyTorch does, the device when it is not the CPU).
    ///
    /// ```
    /// Tensor([[1.0000, 2.5000],
    ///         [3.0000, 4.0000]], shape: [2, 2], dtype: float32)
    /// ```
    public var description: String {
        let opts = Tensor.printOptions
        let summarise = count > opts.threshold
        let prefix = "Tensor("
        let body = formattedBody(summarise: summarise, options: opts, indent: prefix.count)
        let place = storage.deviceSlot == 0 ? "" : ", device: \(device)"
        return "\(prefix)\(body), shape: \(shape), dtype: \(dtype)\(place))"
    }

    public var debugDescription: String { description }

    /// The bracketed elements, aligned to a common width.
    func formattedBody(summarise: Bool, options: TensorPrintOptions, indent: Int) -> String {
        // Indices of each axis that are shown (nil marks the "..." gap).
        let shown: [[Int?]] = shape.map { n in
            if summarise && n > 2 * options.edgeItems {
                return Array(0..<options.edgeItems).map { Optional($0) } + [nil]
                    + Array((n - options.edgeItems)..<n).map { Optional($0) }
            }
            return Array(0..<n).map { Optional($0) }
        }
        // Collect the storage positions of the shown elements to format them consistently.
        var positions: [Int] = []
        func collect(_ axis: Int, _ off: Int) {
            if axis == rank { positions.append(off); return }
            for i in shown[axis] { if let i { collect(axis + 1, off + i * strides[axis]) } }
        }
        collect(0, offset)
        let formatter = ElementFormatter(tensor: self, positions: positions, precision: options.precision)
        var out = ""
        func emit(_ axis: Int, _ off: Int) {
            if axis == rank { out += formatter.format(at: off); return }
            out += "["
            var first = true
            for i in shown[axis] {
                if !first {
                    out += ","
                    if axis == rank - 1 { out += " " } else {
                        out += String(repeating: "\n", count: rank - 1 - axis)
                        out += String(repeating: " ", count: indent + axis + 1)
                    }
                }
                first = false
                if let i { emit(axis + 1, off + i * strides[axis]) } else { out += "..." }
            }
            out += "]"
        }
        emit(0, offset)
        return out
    }
}

/// Formats the elements of one tensor with a shared style and width, chosen from the shown values.
private struct ElementFormatter {
    enum Style { case integer, bool, floatIntegral, fixed, scientific }
    let tensor: Tensor
    let style: Style
    let precision: Int
    let width: Int

    init(tensor: Tensor, positions: [Int], precision: Int) {
        self.tensor = tensor
        self.precision = precision
        switch tensor.dtype {
        case .bool: style = .bool
        case .int32, .int64: style = .integer
        case .float32, .float64:
            let finite = positions.map { tensor.elementAsDouble(at: $0) }.filter { $0.isFinite }
            let maxAbs = finite.map { Swift.abs($0) }.max() ?? 0
            let minNonZero = finite.map { Swift.abs($0) }.filter { $0 > 0 }.min() ?? 0
            if finite.allSatisfy({ $0.rounded() == $0 }) && maxAbs < 1e8 {
                style = .floatIntegral
            } else if maxAbs >= 1e8 || (minNonZero > 0 && minNonZero < 1e-4) || (minNonZero > 0 && maxAbs / minNonZero > 1e6) {
                style = .scientific
            } else {
                style = .fixed
            }
        }
        var w = 0
        let probe = ElementFormatterCore(style: style, precision: precision)
        for p in positions { w = Swift.max(w, probe.text(tensor, p).count) }
        width = w
    }

    func format(at position: Int) -> String {
        let s = ElementFormatterCore(style: style, precision: precision).text(tensor, position)
        return String(repeating: " ", count: Swift.max(0, width - s.count)) + s
    }
}

private struct ElementFormatterCore {
    let style: ElementFormatter.Style
    let precision: Int

    func text(_ t: Tensor, _ position: Int) -> String {
        switch style {
        case .bool: return t.elementAsDouble(at: position) != 0 ? "true" : "false"
        case .integer: return String(t.elementAsInt64(at: position))
        default:
            let v = t.elementAsDouble(at: position)
            if v.isNaN { return "nan" }
            if v.isInfinite { return v > 0 ? "inf" : "-inf" }
            switch style {
            case .floatIntegral: return String(format: "%.0f.", v)
            case .scientific: return String(format: "%.\(precision)e", v)
            default: return String(format: "%.\(precision)f", v)
            }
        }
    }
}
