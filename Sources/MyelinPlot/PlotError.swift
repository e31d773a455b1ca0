import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MyelinCore

/// A failure producing or saving a picture, with a one-line message:
/// `[plot] cannot write 'x/curves.svg': No such file or directory`.
public enum PlotError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be written (missing folder, no permission, full disk, ...).
    case cannotWrite(path: String, reason: String)
    /// The input cannot be drawn (wrong tensor shape, mismatched lengths, ...).
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "[plot] cannot write '\(path)': \(reason)"
        case let .invalidInput(message): return "[plot] \(message)"
        }
    }
}

/// Writes `bytes` atomically, turning file errors into `PlotError.cannotWrite`.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try AtomicFile.write(path, error: { reason in
        // "cannot create a temporary file in DIR: REASON" really means "cannot write PATH: REASON".
        let prefix = "cannot create a temporary file in "
        if reason.hasPrefix(prefix), let colon = reason.range(of: ": ", options: .backwards) {
            return PlotError.cannotWrite(path: path, reason: String(reason[colon.upperBound...]))
        }
        return PlotError.cannotWrite(path: path, reason: reason)
    }) { sink in try sink.write(bytes) }
}

/// Traps with a one-line `[plot]` message, for misuse (as the tensor library does).
func plotPrecondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("[plot] \(message())") }
}
