/// Traps with `message` when `condition` is false, in every build: Swift's `precondition` and
/// `preconditionFailure` print their message only in debug builds, and API misuse should say
/// what was wrong (`[dataLoader] batch size must be positive, got 0`) in release builds too.
///
/// ```swift
/// require(batchSize > 0, "[dataLoader] batch size must be positive, got \(batchSize)")
/// ```
@inlinable @inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
