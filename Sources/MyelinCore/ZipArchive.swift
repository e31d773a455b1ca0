// Myelin's one zip reader and writer, for `.npz` archives and zipped downloads: stored and deflated
// entries, zip64 sizes and offsets. Reading trusts only the central directory and checks every
// offset, size and CRC-32 against the buffer, so a malformed archive throws `NPYError.badZip`
// instead of reading out of bounds. Deflate goes through `Zlib`, the CRC through `CRC32`.

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`, or nil when it would read past the end.
    @inline(__always)
    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base = baseAddress else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// A destination for bytes: a file being written, or an in-memory array.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Collects written bytes in memory (for `npyData()` and in-memory archives).
struct ByteArraySink: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

/// Reads zip archives held in memory (`ZipWriter` writes them).
///
/// ```swift
/// let csv = try ZipArchive.member(in: bytes, file: "iris.zip") { $0.hasSuffix("iris.csv") }
/// ```
public enum ZipArchive {
    static let localSignature: UInt32 = 0x0403_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64EndSignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    /// Field values meaning "the real value is in the zip64 extra field or record".
    static let mark32: UInt32 = 0xFFFF_FFFF
    static let mark16: UInt16 = 0xFFFF

    /// One file of the archive, as described by the central directory.
    struct Entry {
        let name: String
        let flags: UInt16
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    /// The entries listed in the central directory of the archive `bytes`, in archive order.
    static func entries(in bytes: UnsafeRawBufferPointer, file: String) throws -> [Entry] {
        func bad(_ reason: String) -> NPYError { .badZip(file: file, reason: reason) }
        guard bytes.count >= 22 else { throw bad("file has \(bytes.count) bytes, fewer than the 22 of an empty zip") }
        // The end record sits in the last 22 bytes plus a comment of at most 65535 bytes.
        var end = -1
        var pos = bytes.count - 22
        while pos >= max(0, bytes.count - 22 - 65535) {
            if bytes.readLittleEndian(UInt32.self, at: pos) == endSignature,
               let commentLength = bytes.readLittleEndian(UInt16.self, at: pos + 20),
               pos + 22 + Int(commentLength) <= bytes.count {
                end = pos
                break
            }
            pos -= 1
        }
        guard end >= 0 else { throw bad("no end-of-central-directory record in the last \(min(bytes.count, 22 + 65535)) bytes") }
        guard let disk = bytes.readLittleEndian(UInt16.self, at: end + 4),
              let cdDisk = bytes.readLittleEndian(UInt16.self, at: end + 6),
              let count16 = bytes.readLittleEndian(UInt16.self, at: end + 10),
              let size32 = bytes.readLittleEndian(UInt32.self, at: end + 12),
              let offset32 = bytes.readLittleEndian(UInt32.self, at: end + 16) else { throw bad("end record is cut off") }
        if disk != 0 || cdDisk != 0 { throw bad("multi-disk archives are not supported (disk \(disk))") }
        var entryCount = UInt64(count16), cdOffset = UInt64(offset32), cdSize = UInt64(size32)
        if count16 == mark16 || size32 == mark32 || offset32 == mark32 {
            // Zip64: a locator just before the end record points at the zip64 end record.
            guard bytes.readLittleEndian(UInt32.self, at: end - 20) == zip64LocatorSignature,
                  let recordOffset = bytes.readLittleEndian(UInt64.self, at: end - 12),
                  let record = Int(exactly: recordOffset),
                  bytes.readLittleEndian(UInt32.self, at: record) == zip64EndSignature,
                  let n = bytes.readLittleEndian(UInt64.self, at: record + 32),
                  let size = bytes.readLittleEndian(UInt64.self, at: record + 40),
                  let offset = bytes.readLittleEndian(UInt64.self, at: record + 48) else {
                throw bad("end record defers to a zip64 record that is missing or cut off")
            }
            entryCount = n; cdSize = size; cdOffset = offset
        }
        guard let start = Int(exactly: cdOffset), let size = Int(exactly: cdSize),
              start <= bytes.count, size <= bytes.count - start else {
            throw bad("central directory at offset \(cdOffset) with \(cdSize) bytes lies outside the \(bytes.count)-byte file")
        }
        // Each central entry takes at least 46 bytes, which bounds a forged entry count.
        guard entryCount <= UInt64(size / 46) else {
            throw bad("central directory of \(size) bytes cannot hold \(entryCount) entries")
        }
        var result: [Entry] = []
        result.reserveCapacity(Int(entryCount))
        var p = start
        for index in 0..<Int(entryCount) {
            result.append(try centralEntry(in: bytes, at: &p, index: index, file: file))
        }
        return result
    }

    /// Parses the central directory entry at `p` and advances `p` past it.
    private static func centralEntry(in bytes: UnsafeRawBufferPointer, at p: inout Int, index: Int, file: String) throws -> Entry {
        func bad(_ reason: String) -> NPYError { .badZip(file: file, reason: "central entry \(index) at offset \(p): \(reason)") }
        guard bytes.readLittleEndian(UInt32.self, at: p) == centralSignature else { throw bad("bad signature") }
        guard let flags = bytes.readLittleEndian(UInt16.self, at: p + 8),
              let method = bytes.readLittleEndian(UInt16.self, at: p + 10),
              let crc = bytes.readLittleEndian(UInt32.self, at: p + 16),
              let compressed32 = bytes.readLittleEndian(UInt32.self, at: p + 20),
              let uncompressed32 = bytes.readLittleEndian(UInt32.self, at: p + 24),
              let nameLength = bytes.readLittleEndian(UInt16.self, at: p + 28),
              let extraLength = bytes.readLittleEndian(UInt16.self, at: p + 30),
              let commentLength = bytes.readLittleEndian(UInt16.self, at: p + 32),
              let local32 = bytes.readLittleEndian(UInt32.self, at: p + 42) else { throw bad("entry is cut off") }
        let nameStart = p + 46, extraStart = nameStart + Int(nameLength)
        let next = extraStart + Int(extraLength) + Int(commentLength)
        guard next <= bytes.count else { throw bad("name, extra and comment run past the end of the file") }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<extraStart]), as: UTF8.self)
        var uncompressed = UInt64(uncompressed32), compressed = UInt64(compressed32), local = UInt64(local32)
        if uncompressed32 == mark32 || compressed32 == mark32 || local32 == mark32 {
            // The zip64 extra field holds, in this order, only the values marked 0xFFFFFFFF.
            let extra = UnsafeRawBufferPointer(rebasing: bytes[extraStart..<(extraStart + Int(extraLength))])
            guard let field = zip64Field(in: extra) else { throw bad("sizes marked zip64 but no zip64 extra field") }
            var q = 0
            func next64() throws -> UInt64 {
                guard let v = field.readLittleEndian(UInt64.self, at: q) else { throw bad("zip64 extra field is too short") }
                q += 8
                return v
            }
            if uncompressed32 == mark32 { uncompressed = try next64() }
            if compressed32 == mark32 { compressed = try next64() }
            if local32 == mark32 { local = try next64() }
        }
        guard let u = Int(exactly: uncompressed), let c = Int(exactly: compressed), let l = Int(exactly: local) else {
            throw bad("sizes \(uncompressed)/\(compressed) or offset \(local) overflow Int")
        }
        p = next
        return Entry(name: name, flags: flags, method: method, crc32: crc, compressedSize: c, uncompressedSize: u, localHeaderOffset: l)
    }

    /// The data of the zip64 extended-information extra field (header id 1), if present.
    private static func zip64Field(in extra: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var q = 0
        while let id = extra.readLittleEndian(UInt16.self, at: q), let size = extra.readLittleEndian(UInt16.self, at: q + 2) {
            let start = q + 4, end = start + Int(size)
            guard end <= extra.count else { return nil }
            if id == 1 { return UnsafeRawBufferPointer(rebasing: extra[start..<end]) }
            q = end
        }
        return nil
    }

    /// Calls `body` with the uncompressed contents of `entry`, after checking its bounds, size and CRC-32.
    static func withContents<R>(of entry: Entry, in bytes: UnsafeRawBufferPointer, file: String,
                                _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        func bad(_ reason: String) -> NPYError { .badZip(file: file, reason: "entry \(entry.name): \(reason)") }
        if entry.flags & 1 != 0 { throw bad("encrypted entries are not supported") }
        let p = entry.localHeaderOffset
        guard bytes.readLittleEndian(UInt32.self, at: p) == localSignature,
              let nameLength = bytes.readLittleEndian(UInt16.self, at: p + 26),
              let extraLength = bytes.readLittleEndian(UInt16.self, at: p + 28) else {
            throw bad("no local header at offset \(p) of the \(bytes.count)-byte file")
        }
        let start = p + 30 + Int(nameLength) + Int(extraLength)
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw bad("\(entry.compressedSize) bytes of data at offset \(start) run past the end of the \(bytes.count)-byte file")
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + entry.compressedSize)])
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw bad("stored entry has \(entry.compressedSize) bytes but declares \(entry.uncompressedSize) uncompressed")
            }
            try checkCRC(raw, entry: entry, file: file)
            return try body(raw)
        case 8:
            // Deflate expands at most 1032:1, so a larger declared size is a forgery, not a big array.
            guard entry.uncompressedSize / 1032 <= entry.compressedSize + 1 else {
                throw bad("declares \(entry.uncompressedSize) bytes from \(entry.compressedSize) deflated bytes, beyond deflate's 1032:1 limit")
            }
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(entry.uncompressedSize, 1), alignment: 64)
            defer { out.deallocate() }
            let contents = UnsafeRawBufferPointer(rebasing: out[0..<entry.uncompressedSize])
            do {
                try Zlib.inflate(raw, format: .raw, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<entry.uncompressedSize]))
            } catch let error as ZlibError {
                throw bad("deflate data: \(error.reason)")
            }
            try checkCRC(contents, entry: entry, file: file)
            return try body(contents)
        default:
            throw bad("compression method \(entry.method) is not supported (only 0 stored and 8 deflate)")
        }
    }

    private static func checkCRC(_ data: UnsafeRawBufferPointer, entry: Entry, file: String) throws {
        let actual = crc32(of: [data])
        if actual != entry.crc32 {
            throw NPYError.badZip(file: file, reason: "entry \(entry.name): CRC-32 of the data is \(hex(actual)), the directory says \(hex(entry.crc32))")
        }
    }

    private static func hex(_ v: UInt32) -> String { "0x" + CRC32.hex(v) }

    /// The uncompressed contents of the first entry whose name `matches`, or nil when none does;
    /// a malformed archive or entry throws `NPYError.badZip` naming `file`.
    public static func member(in bytes: [UInt8], file: String, where matches: (String) -> Bool) throws -> [UInt8]? {
        try bytes.withUnsafeBytes { raw in
            guard let entry = try entries(in: raw, file: file).first(where: { matches($0.name) }) else { return nil }
            return try withContents(of: entry, in: raw, file: file) { Array($0) }
        }
    }

    /// CRC-32 (the zip polynomial, `CRC32`) of the concatenated pieces.
    static func crc32(of pieces: [UnsafeRawBufferPointer]) -> UInt32 {
        var crc = CRC32()
        for piece in pieces { crc.update(piece) }
        return crc.value
    }

    /// Raw-deflates the concatenated pieces (zlib level 6, as Python's zipfile).
    static func deflateRaw(_ pieces: [UnsafeRawBufferPointer], file: String) throws -> [UInt8] {
        do {
            return try Zlib.deflate(pieces, format: .raw, level: 6)
        } catch let error as ZlibError {
            throw NPYError.io(file: file, reason: "zlib: " + error.reason, archive: true)
        }
    }
}

/// Writes a zip archive entry by entry to a sink; `finish()` writes the central directory.
///
/// Entries are dated 1980-01-01 so the same arrays always give the same bytes.
struct ZipWriter<Sink: ByteSink> {
    var sink: Sink
    /// Uses zip64 fields for every entry and the end record; tests use it to exercise the zip64 paths.
    var forceZip64 = false
    private var offset = 0
    private var central: [UInt8] = []
    private var entryCount = 0

    init(sink: Sink, forceZip64: Bool = false) {
        self.sink = sink
        self.forceZip64 = forceZip64
    }

    private mutating func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try sink.write($0) }
        offset += bytes.count
    }

    /// Adds a file whose contents are the concatenated pieces, stored or deflated.
    mutating func add(name: String, pieces: [UnsafeRawBufferPointer], compress: Bool) throws {
        let size = pieces.reduce(0) { $0 + $1.count }
        let crc = ZipArchive.crc32(of: pieces)
        let deflated = compress ? try ZipArchive.deflateRaw(pieces, file: name) : nil
        let compressedSize = deflated?.count ?? size
        let mark = Int(ZipArchive.mark32)
        let zip64 = forceZip64 || size >= mark || compressedSize >= mark || offset >= mark
        let nameBytes = Array(name.utf8)
        // Bit 11 declares the name UTF-8; plain ASCII names leave it clear, as Python does.
        let flags: UInt16 = nameBytes.contains { $0 >= 0x80 } ? 0x0800 : 0
        let method: UInt16 = compress ? 8 : 0
        let version: UInt16 = zip64 ? 45 : 20

        // The fields from "version needed" to the extra field, the same in both headers; the zip64
        // extra field holds the sizes and, in the central header, the local header's offset.
        func shared(_ header: inout [UInt8], zip64Values: [Int]) {
            header.appendLittleEndian(version)
            header.appendLittleEndian(flags)
            header.appendLittleEndian(method)
            header.appendLittleEndian(UInt16(0))        // time 00:00:00
            header.appendLittleEndian(UInt16(0x21))     // date 1980-01-01
            header.appendLittleEndian(crc)
            header.appendLittleEndian(zip64 ? ZipArchive.mark32 : UInt32(compressedSize))
            header.appendLittleEndian(zip64 ? ZipArchive.mark32 : UInt32(size))
            header.appendLittleEndian(UInt16(nameBytes.count))
            header.appendLittleEndian(UInt16(zip64 ? 4 + 8 * zip64Values.count : 0))
        }
        func zip64Extra(_ header: inout [UInt8], _ values: [Int]) {
            guard zip64 else { return }
            header.appendLittleEndian(UInt16(1))
            header.appendLittleEndian(UInt16(8 * values.count))
            for v in values { header.appendLittleEndian(UInt64(v)) }
        }

        var local: [UInt8] = []
        local.appendLittleEndian(ZipArchive.localSignature)
        shared(&local, zip64Values: [size, compressedSize])
        local += nameBytes
        zip64Extra(&local, [size, compressedSize])
        let localOffset = offset
        try emit(local)
        if let deflated {
            try deflated.withUnsafeBytes { try sink.write($0) }
        } else {
            for piece in pieces { try sink.write(piece) }
        }
        offset += compressedSize

        central.appendLittleEndian(ZipArchive.centralSignature)
        central.appendLittleEndian(UInt16(3 << 8) | version)   // made by Unix, so unzip applies the mode bits
        shared(&central, zip64Values: [size, compressedSize, localOffset])
        central.appendLittleEndian(UInt16(0))      // comment length
        central.appendLittleEndian(UInt16(0))      // disk number
        central.appendLittleEndian(UInt16(0))      // internal attributes
        central.appendLittleEndian(UInt32(0o100644) << 16)
        central.appendLittleEndian(zip64 ? ZipArchive.mark32 : UInt32(localOffset))
        central += nameBytes
        zip64Extra(&central, [size, compressedSize, localOffset])
        entryCount += 1
    }

    /// Writes the central directory and the end record(s).
    mutating func finish() throws {
        let cdOffset = offset, cdSize = central.count
        try emit(central)
        let mark = Int(ZipArchive.mark32)
        let zip64 = forceZip64 || entryCount >= Int(ZipArchive.mark16) || cdOffset >= mark || cdSize >= mark
        var end: [UInt8] = []
        if zip64 {
            let recordOffset = offset
            end.appendLittleEndian(ZipArchive.zip64EndSignature)
            end.appendLittleEndian(UInt64(44))         // size of the rest of the record
            end.appendLittleEndian(UInt16(3 << 8 | 45))
            end.appendLittleEndian(UInt16(45))
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt64(entryCount))
            end.appendLittleEndian(UInt64(entryCount))
            end.appendLittleEndian(UInt64(cdSize))
            end.appendLittleEndian(UInt64(cdOffset))
            end.appendLittleEndian(ZipArchive.zip64LocatorSignature)
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt64(recordOffset))
            end.appendLittleEndian(UInt32(1))
        }
        let count16 = zip64 ? ZipArchive.mark16 : UInt16(entryCount)
        end.appendLittleEndian(ZipArchive.endSignature)
        end.appendLittleEndian(UInt16(0))
        end.appendLittleEndian(UInt16(0))
        end.appendLittleEndian(count16)
        end.appendLittleEndian(count16)
        end.appendLittleEndian(zip64 ? ZipArchive.mark32 : UInt32(cdSize))
        end.appendLittleEndian(zip64 ? ZipArchive.mark32 : UInt32(cdOffset))
        end.appendLittleEndian(UInt16(0))
        try emit(end)
    }
}
