import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much `fit` prints.
public enum Verbosity: Sendable, Equatable {
    /// Nothing (messages from callbacks included).
    case silent
    /// One plain line per epoch:
    /// `epoch 3/10  loss 0.1234  accuracy 0.9650  val_loss 0.1300  val_accuracy 0.9600  12.3s  4,871 samples/s`.
    case epoch
    /// A progress bar per epoch, redrawn in place with `\r`: batch counter, elapsed time and ETA,
    /// samples per second, running loss and metrics; the finished bar stays with validation values.
    case bar
    /// `.bar` when standard output is a terminal, `.epoch` otherwise (logs, pipes, CI).
    case auto

    /// `.auto` resolved against standard output.
    public var resolved: Verbosity {
        guard self == .auto else { return self }
        return isatty(STDOUT_FILENO) != 0 ? .bar : .epoch
    }
}

/// Writes text to standard output as given (newlines and carriage returns included) and flushes.
public func writeToStandardOutput(_ text: String) {
    // `print` writes through C's `stdout` as `fputs` did; Swift 6 rejects naming the C global `stdout`
    // (a mutable variable), so the flush covers every stream.
    print(text, terminator: "")
    fflush(nil)
}

/// Number and duration formats of the progress output.
enum Format {
    /// `0.1234`; large or tiny magnitudes in exponent form; `nan`, `inf`.
    static func value(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        let m = Swift.abs(v)
        if m != 0 && (m < 1e-4 || m >= 1e6) { return String(format: "%.4e", v) }
        return String(format: "%.4f", v)
    }


    /// `0:07`, `12:05`, `1:02:03`.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?:??" }
        let s = Int(seconds.rounded())
        let h = s / 3600, m = (s % 3600) / 60, sec = s % 60
        func two(_ x: Int) -> String { x < 10 ? "0\(x)" : "\(x)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }

    /// `12.3s`.
    static func seconds(_ s: Double) -> String { String(format: "%.1fs", s) }

    static func rate(_ samples: Int, _ seconds: Double) -> String {
        seconds > 0 ? "\((Int((Double(samples) / seconds).rounded())).grouped) samples/s" : "- samples/s"
    }

    /// `loss 0.1234  accuracy 0.9650` in the order of `keys`, skipping keys absent from `logs`.
    static func logs(_ logs: [String: Double], keys: [String]) -> String {
        keys.compactMap { k in logs[k].map { "\(k) \(value($0))" } }.joined(separator: "  ")
    }
}

/// The progress output of one `fit`: epoch lines or redrawn bars, and messages in between.
final class ProgressPrinter {
    let verbosity: Verbosity
    let output: (String) -> Void
    /// Characters on the bar line now (to blank a longer previous draw); 0 when at a line start.
    private var lineLength = 0
    private var lastDraw: Double = -1
    static let barWidth = 30

    init(verbosity: Verbosity, output: @escaping (String) -> Void) {
        self.verbosity = verbosity.resolved
        self.output = output
    }

    func epochBegin(epoch: Int, epochs: Int) {
        lastDraw = -1
        if verbosity == .bar { output("epoch \(epoch + 1)/\(epochs)\n") }
    }

    /// Redraws the bar after batch `batch` (0-based) of `batches`, at most 10 times a second.
    func batchEnd(batch: Int, batches: Int, samples: Int, elapsed: Double, logs: [String: Double], keys: [String]) {
        guard verbosity == .bar else { return }
        let done = batch + 1
        if done < batches && lastDraw >= 0 && elapsed - lastDraw < 0.1 { return }
        lastDraw = elapsed
        let eta = done > 0 ? elapsed / Double(done) * Double(max(0, batches - done)) : .nan
        let timing = done < batches ? "\(Format.clock(elapsed)) < \(Format.clock(eta))" : Format.clock(elapsed)
        draw(bar(done, batches) + "  " + timing + "  " + Format.rate(samples, elapsed) + "  " + Format.logs(logs, keys: keys))
    }

    /// The epoch's summary: a plain line, or the final bar with validation values, ended by a newline.
    /// `seconds` is the whole epoch (validation included); samples per second count training only.
    func epochEnd(epoch: Int, epochs: Int, batches: Int, samples: Int, seconds: Double, trainSeconds: Double,
                  logs: [String: Double], keys: [String]) {
        switch verbosity {
        case .epoch:
            var parts = ["epoch \(epoch + 1)/\(epochs)"]
            let values = Format.logs(logs, keys: keys)
            if !values.isEmpty { parts.append(values) }
            parts.append(Format.seconds(seconds))
            parts.append(Format.rate(samples, trainSeconds))
            output(parts.joined(separator: "  ") + "\n")
        case .bar:
            draw(bar(batches, batches) + "  " + Format.seconds(seconds) + "  " + Format.rate(samples, trainSeconds) + "  "
                 + Format.logs(logs, keys: keys))
            output("\n")
            lineLength = 0
        default:
            break
        }
    }

    /// A line of its own (after ending a bar in progress).
    func message(_ text: String) {
        guard verbosity != .silent else { return }
        if lineLength > 0 {
            output("\n")
            lineLength = 0
        }
        output(text + "\n")
    }

    private func bar(_ done: Int, _ total: Int) -> String {
        let width = String(total).count
        let count = String(repeating: " ", count: max(0, width - String(done).count)) + "\(done)/\(total)"
        let filled = total > 0 ? Self.barWidth * done / total : Self.barWidth
        let body: String
        if filled >= Self.barWidth {
            body = String(repeating: "=", count: Self.barWidth)
        } else {
            body = String(repeating: "=", count: filled) + ">" + String(repeating: ".", count: Self.barWidth - filled - 1)
        }
        return "\(count) [\(body)]"
    }

    private func draw(_ line: String) {
        let pad = max(0, lineLength - line.count)
        output("\r" + line + String(repeating: " ", count: pad))
        lineLength = line.count
    }
}
