import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A minimal blocking HTTP/1.1 client for chromedriver on 127.0.0.1: one connection per request
// (`Connection: close`). FoundationNetworking's URLSession cannot be used on Linux with Swift 6.3:
// chromedriver writes headers without a space after the colon (`Content-Length:252`), which
// swift-corelibs-foundation rejects ("Failed writing header", NSURLErrorDomain -1); fixed upstream
// in swift-corelibs-foundation#5527 (6.4).

/// One HTTP answer: status code and body bytes.
struct HTTPAnswer: Sendable {
    let status: Int
    let body: Data
}

enum LoopbackHTTP {
    /// Sends one request to 127.0.0.1:`port` and reads the whole answer; blocks the calling thread.
    static func request(port: Int, method: String, path: String, body: Data?, timeout: Duration) throws -> HTTPAnswer {
        let command = "\(method) \(path)"
        let fd = try connectLoopback(port: port, timeout: timeout, command: command)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json; charset=utf-8\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        var bytes = Data(head.utf8)
        if let body { bytes.append(body) }
        try sendAll(fd, bytes, command: command)
        return try readAnswer(fd, command: command, timeout: timeout)
    }

    /// A TCP socket connected to 127.0.0.1:`port`, with send and receive timeouts set;
    /// `receiveBuffer` shrinks its receive buffer (a reader that never reads fills it sooner).
    static func connectLoopback(port: Int, timeout: Duration, command: String, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw WebDriverError(.connectionFailed, "socket() failed: \(errnoText())", command: command) }
        if var size = receiveBuffer { _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var tv = timeval(tv_sec: time_t(timeout.components.seconds), tv_usec: suseconds_t(timeout.components.attoseconds / 1_000_000_000_000))
        if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1000 }
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var addr = loopbackAddress(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let text = errnoText()
            close(fd)
            throw WebDriverError(.connectionFailed, "cannot connect to 127.0.0.1:\(port): \(text)", command: command)
        }
        return fd
    }

    /// A port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw WebDriverError(.driverStartFailed, "socket() failed: \(errnoText())") }
        defer { close(fd) }
        var addr = loopbackAddress(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw WebDriverError(.driverStartFailed, "cannot bind a free port on 127.0.0.1: \(errnoText())") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static var streamType: Int32 {
        #if canImport(Glibc) || canImport(Musl)
        return Int32(SOCK_STREAM.rawValue)
        #else
        return SOCK_STREAM
        #endif
    }

    static func loopbackAddress(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        #if canImport(Darwin)
        addr.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port)).bigEndian
        addr.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return addr
    }

    /// Sends all of `data`; throws when the peer is gone or the send timeout passes.
    static func sendAll(_ fd: Int32, _ data: Data, command: String) throws {
        #if canImport(Darwin)
        let flags: Int32 = 0
        #else
        let flags = Int32(MSG_NOSIGNAL)
        #endif
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, flags)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw WebDriverError(.connectionFailed, "sending \(raw.count) bytes failed after \(offset): \(errnoText())", command: command)
                }
                offset += n
            }
        }
    }

    /// Reads status line, headers and body (by Content-Length, chunked, or to end of stream).
    private static func readAnswer(_ fd: Int32, command: String, timeout: Duration) throws -> HTTPAnswer {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var eof = false
        func fill() throws {
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return }
                if n == 0 { eof = true; return }
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw WebDriverError(.connectionFailed, "no answer from chromedriver within \(timeout) (\(buffer.count) bytes read)", command: command)
                }
                throw WebDriverError(.connectionFailed, "reading the answer failed: \(errnoText())", command: command)
            }
        }
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            headerEnd = buffer.range(of: separator)
            if headerEnd == nil {
                guard !eof else {
                    throw WebDriverError(.invalidResponse, "connection closed before the end of the HTTP headers (\(buffer.count) bytes)", command: command)
                }
                try fill()
            }
        }
        let headerText = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        var lines = headerText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw WebDriverError(.invalidResponse, "bad HTTP status line '\(statusLine.prefix(80))'", command: command)
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(buffer[headerEnd!.upperBound...])
        buffer = Data()
        if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0 else {
                throw WebDriverError(.invalidResponse, "bad Content-Length '\(lengthText)'", command: command)
            }
            while body.count < length {
                guard !eof else {
                    throw WebDriverError(.invalidResponse, "connection closed after \(body.count) of \(length) body bytes", command: command)
                }
                try fill()
                body.append(buffer)
                buffer = Data()
            }
            return HTTPAnswer(status: status, body: body.prefix(length))
        }
        while !eof {
            try fill()
            body.append(buffer)
            buffer = Data()
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try dechunk(body, command: command)
        }
        return HTTPAnswer(status: status, body: body)
    }

    private static func dechunk(_ data: Data, command: String) throws -> Data {
        var out = Data()
        var i = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data.range(of: crlf, in: i..<data.endIndex) else {
                throw WebDriverError(.invalidResponse, "truncated chunked body", command: command)
            }
            let sizeText = String(decoding: data[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw WebDriverError(.invalidResponse, "bad chunk size '\(sizeText)'", command: command)
            }
            if size == 0 { return out }
            let start = lineEnd.upperBound
            guard data.distance(from: start, to: data.endIndex) >= size + 2 else {
                throw WebDriverError(.invalidResponse, "truncated chunk of \(size) bytes", command: command)
            }
            let end = data.index(start, offsetBy: size)
            out.append(data[start..<end])
            i = data.index(end, offsetBy: 2)
        }
    }
}

/// The text of the current `errno`, with its number.
func errnoText() -> String {
    let e = errno
    return "\(String(cString: strerror(e))) (errno \(e))"
}
