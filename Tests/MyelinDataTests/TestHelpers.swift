import Foundation
import MyelinTestSupport
import MyelinCore
@testable import MyelinData

/// A fresh temporary folder for one test, removed when the tests end.
func makeTempDir(_ tag: String = "data") -> String { temporaryTestFolder(tag) }

func writeText(_ text: String, _ path: String) {
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
}

func writeBytes(_ bytes: [UInt8], _ path: String) {
    try! AtomicFile.write(bytes, to: path)
}

/// The description of the error `body` throws, or nil if it does not throw.
func thrownMessage<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return "\(error)"
    }
}

/// The shared data sets folder, when present on this machine.
func sharedDatasets() -> String? {
    var candidates: [String] = []
    if let env = ProcessInfo.processInfo.environment["MYELIN_DATA"], !env.isEmpty { candidates.append(env) }
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(here.deletingLastPathComponent().appendingPathComponent("shared/datasets").path)
    return candidates.first { FileManager.default.fileExists(atPath: $0 + "/mnist/train-labels-idx1-ubyte.gz") }
}

/// `message` with the folder of the file it names removed (`[csv] /tmp/x/data.csv:3` is
/// `[csv] data.csv:3`), for files a helper writes into a folder of its own.
func baseNamed(_ message: String?) -> String? {
    message?.replacingOccurrences(of: #"^(\[[\w-]+\] )\S*/"#, with: "$1", options: .regularExpression)
}
