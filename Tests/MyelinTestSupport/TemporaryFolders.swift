import Foundation
import Synchronization

/// Paths made by `temporaryTestFolder(_:)` and `temporaryTestPath(_:suffix:)`, removed when the test process exits.
private let madeFolders = Mutex<[String]>([])

/// Registers the removal once; an exit handler rather than a per-test one, since Swift Testing's
/// suites have no teardown and tests run in parallel.
private let removeAtExit: Void = {
    atexit {
        for path in madeFolders.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}()

/// A fresh folder `myelin-<tag>-<uuid>` in the system's temporary directory, removed with all it
/// holds when the test process exits normally (a test that traps on purpose runs in a child
/// process, whose folders stay).
///
/// ```swift
/// let dir = temporaryTestFolder("train")
/// ```
public func temporaryTestFolder(_ tag: String) -> String {
    let path = temporaryTestPath(tag)
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A fresh path `myelin-<tag>-<uuid><suffix>` in the system's temporary directory, for a file or
/// folder the test makes itself; whatever is there is removed when the test process exits normally.
///
/// ```swift
/// let out = temporaryTestPath("embed", suffix: ".npy")
/// ```
public func temporaryTestPath(_ tag: String, suffix: String = "") -> String {
    _ = removeAtExit
    let path = NSTemporaryDirectory() + "myelin-\(tag)-\(UUID().uuidString)\(suffix)"
    madeFolders.withLock { $0.append(path) }
    return path
}
