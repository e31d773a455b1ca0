import Foundation
import MyelinCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request as the dashboard's server read it: bounded in every part, percent-decoded.
struct HTTPRequest: Sendable {
    let method: String
    /// The request target as sent: `/api/run?id=a`.
    let target: String
    /// The target's path, percent-decoded: `/api/run`.
    let path: String
    /// The query's parameters, percent-decoded; the first of repeated names wins.
    let query: [String: String]
    /// Values by lower-case name; repeated headers joined with ", " (cookies with "; ").
    let headers: [String: String]
    let body: [UInt8]

    func query(_ name: String) -> String? { query[name] }
    func query(_ name: String, as: Int.Type) -> Int? { query[name].flatMap { Int($0) } }
}

/// An answer: a status, headers, and either bytes or a stream written until its closure returns.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)] = []
    var body: Body = .bytes([])

    enum Body: Sendable {
        case bytes([UInt8])
        /// Written piece by piece (server-sent events) on the connection's thread; the connection
        /// closes when the closure returns or throws.
        case stream(@Sendable (HTTPStream) throws -> Void)
    }
}

/// The open end of a streamed response.
final class HTTPStream {
    private let fd: Int32
    private let server: HTTPServer
    init(fd: Int32, server: HTTPServer) { self.fd = fd; self.server = server }
    /// False once the server stops: the stream should end.
    var isOpen: Bool { !server.isStopping }
    /// Sends `text`; throws when the reader is gone or has not read for the send timeout.
    func write(_ text: String) throws { try HTTPServer.send(fd, Array(text.utf8)) }
}

/// The dashboard's HTTP/1.1 server: POSIX sockets, a thread per connection, every part of a
/// request bounded.
///
/// Own code rather than a server framework: the pages need a few routes and one event stream,
/// and SwiftNIO with Hummingbird added minutes to the clean build of `make demo`. It guards against
/// a request line over `limits.target` bytes (414), a head over `limits.head` (431), a body over
/// `limits.body` (413) or chunked (501), a head that trickles in for longer than `limits.headTime`
/// (408), more than `limits.connections` open connections (503), and readers that stop reading
/// (a send waits `limits.sendTimeout` seconds at most, then the connection closes).
final class HTTPServer: @unchecked Sendable {
    // @unchecked: `open` and `stopping` are guarded by `lock`; the rest is immutable.
    struct Limits: Sendable {
        var target = 4096
        var head = 16 << 10
        var body = 64 << 10
        var connections = 64
        /// Seconds a kept-alive connection may wait for its next request.
        var idle = 30.0
        /// Seconds from a request's first byte to the end of its head and body.
        var headTime = 30.0
        var sendTimeout = 10
    }
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    let limits: Limits
    private let handler: Handler
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(limits: Limits = Limits(), handler: @escaping Handler) {
        self.limits = limits
        self.handler = handler
    }

    var isStopping: Bool { lock.withLock { stopping } }

    /// Listens on `host`:`port` (0: any free port) and serves on threads of its own; returns the port.
    /// Throws `DashboardError` when the address cannot be had.
    func listen(host: String, port: Int) throws -> Int {
        let fd = try Self.bindListener(host: host, port: port)
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = Int32(address.ss_family)
        let bound: Int = withUnsafePointer(to: address) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "myelin-dashboard-accept"
        thread.start()
        return bound
    }

    /// A socket listening on `host`:`port`; throws `DashboardError` when it cannot be had.
    static func bindListener(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_PASSIVE
        var info: UnsafeMutablePointer<addrinfo>?
        let found = getaddrinfo(host, String(port), &hints, &info)
        guard found == 0, let first = info else {
            throw DashboardError(op: "dashboard", "cannot serve on \(host):\(port): \(String(cString: gai_strerror(found)))")
        }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw DashboardError(op: "dashboard", "cannot make a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        // SO_REUSEADDR lets a port in TIME_WAIT be taken, never one someone listens on.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, socketListen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DashboardError(op: "dashboard", "cannot serve on \(host):\(port): \(reason)")
        }
        return fd
    }

    /// Stops accepting, ends event streams at their next write, and wakes connections waiting
    /// for a request; returns at once.
    func stop() {
        lock.withLock {
            stopping = true
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Blocks until the server has stopped accepting.
    func wait() {
        finished.wait()
        finished.signal()
    }

    // MARK: Connections

    private func acceptLoop(_ listener: Int32) {
        defer {
            close(listener)
            finished.signal()
        }
        var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        while !isStopping {
            // A short poll, so `stop` is seen within a quarter of a second on every platform.
            guard poll(&waiting, 1, 250) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EMFILE || errno == ENFILE { usleep(50_000) }
                continue
            }
            let admitted: Bool = lock.withLock {
                guard !stopping, open.count < limits.connections else { return false }
                open.insert(fd)
                return true
            }
            configure(fd)
            guard admitted else {
                try? Self.send(fd, Self.head(status: 503, headers: [], length: 0, keepAlive: false))
                close(fd)
                continue
            }
            let thread = Thread { [self] in
                serve(fd)
                lock.withLock {
                    open.remove(fd)
                    close(fd)
                }
            }
            thread.name = "myelin-dashboard-connection"
            thread.start()
        }
    }

    private func configure(_ fd: Int32) {
        // Short receive waits so deadlines and `stop` are checked while a client is quiet.
        var receive = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive, socklen_t(MemoryLayout<timeval>.size))
        var send = timeval(tv_sec: limits.sendTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Darwin)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    /// Requests on one connection, one after the other, until it closes or asks to.
    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while !isStopping {
            let read = readRequest(fd, &buffer)
            let request: HTTPRequest
            switch read {
            case .closed: return
            case .refused(let status, let message):
                try? Self.send(fd, Self.errorBytes(status: status, message))
                drain(fd)
                return
            case .request(let r): request = r
            }
            let version = request.headers[":version"] ?? "HTTP/1.1"
            let connection = request.headers["connection"]?.lowercased() ?? ""
            let keepAlive = version == "HTTP/1.1" ? !connection.contains("close") : connection.contains("keep-alive")
            let response = handler(request)
            do {
                switch response.body {
                case .bytes(let bytes):
                    var out = Self.head(status: response.status, headers: response.headers, length: bytes.count, keepAlive: keepAlive)
                    if request.method != "HEAD" { out += bytes }
                    try Self.send(fd, out)
                case .stream(let write):
                    try Self.send(fd, Self.head(status: response.status, headers: response.headers, length: nil, keepAlive: false))
                    try write(HTTPStream(fd: fd, server: self))
                    return
                }
            } catch {
                return
            }
            if !keepAlive { return }
        }
    }

    private enum Read {
        case request(HTTPRequest)
        case refused(Int, String)
        case closed
    }

    /// The next request from `buffer` and the socket; what is left of `buffer` stays for the next.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Read {
        var started = buffer.isEmpty ? nil : Date()
        let idleSince = Date()
        var headEnd: Int?
        var bodyLength = 0
        var parsed: (method: String, target: String, version: String, headers: [String: String])?
        while true {
            if headEnd == nil {
                if let end = Self.find([13, 10, 13, 10], in: buffer) {
                    headEnd = end + 4
                } else {
                    let lineEnd = Self.find([13, 10], in: buffer)
                    if (lineEnd ?? buffer.count) > limits.target + 32 {
                        return .refused(414, "[dashboard] request target longer than \(limits.target) bytes")
                    }
                    if buffer.count > limits.head {
                        return .refused(431, "[dashboard] request head longer than \(limits.head) bytes")
                    }
                }
                if let end = headEnd {
                    if end > limits.head {
                        return .refused(431, "[dashboard] request head longer than \(limits.head) bytes")
                    }
                    switch Self.parseHead(Array(buffer[0..<end - 4])) {
                    case .failure(let error): return .refused(error.status, error.message)
                    case .success(let head): parsed = head
                    }
                    let head = parsed!
                    if head.target.utf8.count > limits.target {
                        return .refused(414, "[dashboard] request target longer than \(limits.target) bytes")
                    }
                    if head.headers["transfer-encoding"] != nil {
                        return .refused(501, "[dashboard] chunked request bodies are not supported; send Content-Length")
                    }
                    if let text = head.headers["content-length"] {
                        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                            return .refused(400, "[dashboard] Content-Length \(text) is not a size")
                        }
                        guard n <= limits.body else {
                            return .refused(413, "[dashboard] request body of \(n) bytes is over the limit of \(limits.body)")
                        }
                        bodyLength = n
                    }
                    if bodyLength > 0, head.headers["expect"]?.lowercased() == "100-continue", buffer.count == end {
                        try? Self.send(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                    }
                }
            }
            if let end = headEnd, let head = parsed, buffer.count >= end + bodyLength {
                let body = Array(buffer[end..<end + bodyLength])
                buffer.removeFirst(end + bodyLength)
                var headers = head.headers
                headers[":version"] = head.version
                let (path, query) = Self.split(head.target)
                guard let path else { return .refused(400, "[dashboard] request target \(head.target) does not decode") }
                return .request(HTTPRequest(method: head.method, target: head.target, path: path, query: query,
                                            headers: headers, body: body))
            }
            if isStopping { return .closed }
            if let started, Date().timeIntervalSince(started) > limits.headTime {
                return .refused(408, "[dashboard] the request did not arrive within \(Int(limits.headTime)) s")
            }
            if started == nil, Date().timeIntervalSince(idleSince) > limits.idle { return .closed }
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 {
                if started == nil { started = Date() }
                buffer += chunk[0..<n]
            } else if n == 0 || !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return .closed
            }
        }
    }

    /// After a refusal: stop writing, and read what the client still sends (briefly, boundedly),
    /// so closing does not reset the connection before the client has read the answer.
    private func drain(_ fd: Int32) {
        shutdown(fd, Int32(SHUT_WR))
        var chunk = [UInt8](repeating: 0, count: 16384)
        let until = Date().addingTimeInterval(2)
        var total = 0
        while Date() < until, total < 16 << 20 {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { total += n } else if n == 0 || errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { break }
        }
    }

    // MARK: Parsing

    struct HeadError: Error { let status: Int; let message: String }

    static func parseHead(_ bytes: [UInt8]) -> Result<(method: String, target: String, version: String, headers: [String: String]), HeadError> {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, requestLine[0].allSatisfy({ $0.isLetter && $0.isUppercase }),
              requestLine[1].hasPrefix("/"), requestLine[2] == "HTTP/1.1" || requestLine[2] == "HTTP/1.0" else {
            return .failure(HeadError(status: 400, message: "[dashboard] malformed request line"))
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  !line[..<colon].contains(where: { $0 == " " || $0 == "\t" }) else {
                return .failure(HeadError(status: 400, message: "[dashboard] malformed header line"))
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let earlier = headers[name] {
                headers[name] = earlier + (name == "cookie" ? "; " : ", ") + value
            } else {
                headers[name] = value
            }
        }
        return .success((String(requestLine[0]), String(requestLine[1]), String(requestLine[2]), headers))
    }

    /// The decoded path (nil when it does not decode) and query parameters of a target.
    static func split(_ target: String) -> (String?, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0]).removingPercentEncoding
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring) -> String? { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
                guard let key = decode(kv[0]), let value = kv.count == 2 ? decode(kv[1]) : "" else { continue }
                if query[key] == nil { query[key] = value }
            }
        }
        return (path, query)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<i + needle.count].elementsEqual(needle) { return i }
        }
        return nil
    }

    // MARK: Writing

    static let reasons: [Int: String] = [
        100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
        405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 413: "Content Too Large",
        414: "URI Too Long", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
        501: "Not Implemented", 503: "Service Unavailable",
    ]

    /// A response head; `length` nil for a stream (the connection closes after it).
    static func head(status: Int, headers: [(name: String, value: String)], length: Int?, keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reasons[status] ?? "Status")\r\nServer: myelin\r\n"
        for (name, value) in headers { text += name + ": " + value + "\r\n" }
        if let length { text += "Content-Length: \(length)\r\n" }
        text += "Connection: " + (keepAlive && length != nil ? "keep-alive" : "close") + "\r\n\r\n"
        return Array(text.utf8)
    }

    static func errorBytes(status: Int, _ message: String) -> [UInt8] {
        let body = Array(("{\"error\":" + JSONText.quote(message) + "}").utf8)
        return head(status: status, headers: [("Content-Type", "application/json")], length: body.count, keepAlive: false) + body
    }

    struct SendError: Error {}

    /// Sends all of `bytes`, or throws when the peer is gone or stopped reading for the send timeout.
    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { socketSend(fd, $0.baseAddress, $0.count, flags) }
            if n > 0 { sent += n } else if n < 0 && errno == EINTR { continue } else { throw SendError() }
        }
    }
}

// The socket calls whose Swift names a method of ours would shadow.
@inline(__always) private func socketListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
@inline(__always) private func socketSend(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int, _ flags: Int32) -> Int { send(fd, p, n, flags) }
