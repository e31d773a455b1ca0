import Foundation
import MyelinCore

/// Keeps tests that change the process-wide `Threading.count` apart from tests whose bit-for-bit
/// comparisons depend on it (a weight gradient summed in one chunk per thread rounds differently
/// with another count). Swift Testing runs suites concurrently in one process, so a test that set
/// the count to 1 for a moment could make another's two runs differ. A reader-writer lock: the
/// comparisons share it, a change of the count takes it alone.
///
/// ```swift
/// ThreadCountGuard.changing { Threading.count = 1; ...; Threading.count = saved }
/// let same = ThreadCountGuard.comparing { fused().bits == apart().bits }
/// ```
public enum ThreadCountGuard {
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_rwlock_t> = {
        let l = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        pthread_rwlock_init(l, nil)
        return l
    }()

    /// Runs `body`, which changes `Threading.count` (and puts it back), while no comparison runs.
    public static func changing<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body`, whose results depend on `Threading.count`, while no test changes it.
    public static func comparing<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
