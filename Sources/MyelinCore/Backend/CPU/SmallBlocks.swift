#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Freed tensor buffers of up to 4 KiB, kept by size for the next tensor of that size.
///
/// A small op's output (a bias, a loss, a step of a small model) costs less than glibc's aligned
/// allocation and free of its buffer; this cache hands the same blocks back. Blocks are 64 << k
/// bytes (k = 0...6), 64-byte aligned, at most 64 of each size kept (under 1 MiB in all);
/// larger buffers go to malloc, which `TensorStorage` keeps from returning them to the system.
enum SmallBlocks {
    static let sizes = 7
    static let kept = 64

    /// Addresses of free blocks by size class.
    private static let lists = Mutex<[[Int]]>((0..<sizes).map { _ in
        var list: [Int] = []
        list.reserveCapacity(kept)
        return list
    })

    /// The size class of a buffer of `bytes`, or nil when it is larger than the cached sizes.
    @inline(__always)
    static func sizeClass(_ bytes: Int) -> Int? {
        if bytes > 64 << (sizes - 1) { return nil }
        var k = 0
        while 64 << k < bytes { k += 1 }
        return k
    }

    /// A block of class `k`: a cached one, or a new one.
    static func take(_ k: Int) -> UnsafeMutableRawPointer? {
        if let address = lists.withLock({ $0[k].popLast() }) { return UnsafeMutableRawPointer(bitPattern: address) }
        var raw: UnsafeMutableRawPointer?
        return posix_memalign(&raw, 64, 64 << k) == 0 ? raw : nil
    }

    /// Returns a block of class `k` to the cache, or to malloc when the cache of its size is full.
    static func give(_ p: UnsafeMutableRawPointer, _ k: Int) {
        let kept = lists.withLock { lists -> Bool in
            if lists[k].count >= SmallBlocks.kept { return false }
            lists[k].append(Int(bitPattern: p))
            return true
        }
        if !kept { free(p) }
    }
}
