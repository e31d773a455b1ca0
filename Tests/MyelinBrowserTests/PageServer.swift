import Foundation
@testable import MyelinWebDriver
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 answering GET requests with fixed pages: the browser tests' web site.
///
/// Accepts on a thread of its own and answers each connection on another (Chromium opens idle speculative
/// connections, which must not hold up the real ones); never on Swift concurrency's cooperative threads,
/// which the test itself may occupy while chromedriver loads a page from here.
final class PageServer: Sendable {
    /// A fixed answer.
    struct Page: Sendable {
        var contentType = "text/html; charset=utf-8"
        var body: String
    }

    let port: Int
    private let listener: Int32
    private let pages: [String: Page]
    private let log = Mutex<[String]>([])
    private let stopped = Mutex(false)

    /// Listens on a free loopback port; `pages` maps a path ("/", "/noisy") to its answer, anything else is a 404.
    init(pages: [String: Page]) throws {
        self.pages = pages
        let fd = socket(AF_INET, LoopbackHTTP.streamType, 0)
        guard fd >= 0 else { throw ServerError("socket() failed, errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = LoopbackHTTP.loopbackAddress(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound, listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            throw ServerError("cannot listen on 127.0.0.1: errno \(e)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// `http://127.0.0.1:<port><path>`.
    func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The paths requested so far, in order.
    var requestedPaths: [String] { log.withLock { $0 } }

    /// Stops accepting (connections being answered finish on their own).
    func stop() {
        let wasStopped = stopped.withLock { flag in
            defer { flag = true }
            return flag
        }
        if !wasStopped { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread { [self] in answer(client) }.start()
        }
    }

    private func answer(_ fd: Int32) {
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.ends(with: [13, 10, 13, 10]) && request.count < 64 * 1024 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            guard n > 0 else { return }  // an idle speculative connection closed or timed out
            request += buffer[0..<n]
        }
        let requestLine = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        let path = requestLine.count >= 2 ? String(requestLine[1]) : "?"
        log.withLock { $0.append(path) }
        let page = pages[path]
        let status = page == nil ? "404 Not Found" : "200 OK"
        let body = Array((page?.body ?? "not found: \(path)\n").utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(page?.contentType ?? "text/plain")\r\nContent-Length: \(body.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        try? LoopbackHTTP.sendAll(fd, Data(head.utf8) + Data(body), command: "answer \(path)")
    }
}

/// The test server could not start.
struct ServerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

extension PageServer {
    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func acceptsConnections(port: Int) -> Bool {
        guard let fd = try? LoopbackHTTP.connectLoopback(port: port, timeout: .seconds(5), command: "probe") else { return false }
        close(fd)
        return true
    }
}
