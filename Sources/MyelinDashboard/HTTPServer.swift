import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

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
final class HTTPStream: Sendable {
    private let channel: Channel
    private let server: HTTPServer
    init(channel: Channel, server: HTTPServer) { self.channel = channel; self.server = server }

    /// False once the server stops or the reader has gone: the stream should end.
    var isOpen: Bool { !server.isStopping && channel.isActive }

    /// Sends `text`. A reader that does not take it within the send timeout (NIO's buffer for the
    /// connection stays above its high-water mark) is dropped: this throws and the connection closes.
    func write(_ text: String) throws {
        let deadline = Date().addingTimeInterval(Double(server.limits.sendTimeout))
        while !channel.isWritable {
            guard channel.isActive, Date() < deadline else {
                channel.close(promise: nil)
                throw HTTPServer.SendError()
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let part = HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: text)))
        do { try channel.writeAndFlush(part).wait() } catch { throw HTTPServer.SendError() }
    }
}

/// The dashboard's HTTP/1.1 server: SwiftNIO's HTTP/1 pipeline (its llhttp parser, keep-alive,
/// pipelining), answers made on a thread of their own per request.
///
/// SwiftNIO alone rather than a framework over it: the pages need a few routes and one event
/// stream, and Hummingbird's package graph made a clean `make demo` take 6 min 22 s here against
/// a budget of 6. Bounds: a request target over `limits.target` bytes (414), a head over
/// `limits.head` (431, NIO's decoder limits), a body over `limits.body` (413), a body not complete
/// `limits.headTime` seconds after its head (408), a connection idle for `limits.idle` (closed), more than
/// `limits.connections` open connections (503), and a stream reader that stops reading (dropped
/// after `limits.sendTimeout` seconds; NIO's buffer per connection is bounded by its water marks).
/// Handlers run off the event loop, so they may wait (for a trainer's answer, for a new frame).
final class HTTPServer: @unchecked Sendable {
    // @unchecked: `open`, `stopping`, `working` and `channel` are guarded by `lock`; the rest is immutable.
    struct Limits: Sendable {
        var target = 4096
        var head = 16 << 10
        var body = 64 << 10
        var connections = 64
        /// Seconds a connection may wait for the head of its next request; then it is closed
        /// without an answer (a client reusing it retries on a new one).
        var idle = 120.0
        /// Seconds from a request's head to its end (the body); then 408.
        var headTime = 30.0
        var sendTimeout = 10
    }
    typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    let limits: Limits
    let handler: Handler
    private let lock = NSLock()
    private var open: [ObjectIdentifier: Channel] = [:]
    private var stopping = false
    /// Threads answering a request now.
    private var working = 0
    private var channel: Channel?
    private let finished = DispatchSemaphore(value: 0)

    init(limits: Limits = Limits(), handler: @escaping Handler) {
        self.limits = limits
        self.handler = handler
    }

    var isStopping: Bool { lock.withLock { stopping } }

    /// How many connections are open and admitted now.
    var openConnections: Int { lock.withLock { open.count } }

    /// Listens on `host`:`port` (0: any free port) and returns the port.
    /// Throws `DashboardError` when the address cannot be had.
    func listen(host: String, port: Int) throws -> Int {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.head
        decoderLimits.maxHeaderListSize = limits.head
        decoderLimits.maxHeaderFieldCount = 200
        let decoding = decoderLimits
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = admit(channel)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: false,
                        withOutboundHeaderValidation: true, withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: decoding)
                    try channel.pipeline.syncOperations.addHandler(HTTPConnection(server: self, admitted: admitted))
                }
            }
        do {
            let bound = try bootstrap.bind(host: host, port: port).wait()
            lock.withLock { channel = bound }
            bound.closeFuture.whenComplete { [finished] (_: Result<Void, Error>) in finished.signal() }
            return bound.localAddress?.port ?? port
        } catch {
            throw DashboardError(op: "dashboard", "cannot serve on \(host):\(port): \(error)")
        }
    }

    /// Stops accepting, closes every connection, and waits (up to 5 s) for the threads still
    /// answering to finish (event streams end at their next look, within their poll interval),
    /// so nothing of the server runs on after it, not even while the process exits.
    func stop() {
        let channels: [Channel] = lock.withLock {
            stopping = true
            return (channel.map { [$0] } ?? []) + Array(open.values)
        }
        for c in channels { c.close(promise: nil) }
        let until = Date().addingTimeInterval(5)
        while lock.withLock({ working > 0 }) && Date() < until { Thread.sleep(forTimeInterval: 0.01) }
    }

    /// Runs `body` on a thread of its own, counted until it returns.
    func work(_ body: @escaping @Sendable () -> Void) {
        lock.withLock { working += 1 }
        Thread.detachNewThread { [self] in
            defer { lock.withLock { working -= 1 } }
            body()
        }
    }

    /// Blocks until the server has stopped accepting.
    func wait() {
        finished.wait()
        finished.signal()
    }

    private func admit(_ channel: Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted: Bool = lock.withLock {
            guard !stopping, open.count < limits.connections else { return false }
            open[key] = channel
            return true
        }
        if admitted { channel.closeFuture.whenComplete { [self] _ in _ = lock.withLock { open.removeValue(forKey: key) } } }
        return admitted
    }

    struct SendError: Error {}
}

/// One connection's requests, on its event loop: gathers a request, hands it to a thread for the
/// answer, writes the answer back through the channel. Pipelined requests wait in `pending` and
/// are answered in order, one at a time (this handler does what NIO's pipelining helper would,
/// and may also answer a request it refuses before that request ends).
private final class HTTPConnection: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: HTTPServer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    /// Set once the connection is refused: what else it sends is dropped.
    private var refused = false
    /// A request is being answered.
    private var busy = false
    /// Complete requests waiting for the one being answered.
    private var pending: [(head: HTTPRequestHead, body: [UInt8])] = []
    /// A refusal to send once the requests before it are answered.
    private var refusal: (status: Int, message: String)?
    private var deadline: Scheduled<Void>?
    static let maxPending = 16

    /// False for a connection over the server's limit: it is told so and closed.
    private let admitted: Bool

    init(server: HTTPServer, admitted: Bool) {
        self.server = server
        self.admitted = admitted
    }

    func channelActive(context: ChannelHandlerContext) {
        if admitted {
            arm(context)
        } else {
            refuse(context, 503, "[dashboard] too many open connections")
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    /// The next request's head must come within `idle` seconds from now (else the connection
    /// closes quietly: answering 408 there races with a client sending on the reused connection).
    private func arm(_ context: ChannelHandlerContext) {
        setDeadline(context, in: server.limits.idle) { connection, context in
            if !connection.busy && connection.pending.isEmpty && connection.head == nil { context.close(promise: nil) }
        }
    }

    /// The request whose head just came must end within `headTime` seconds (else 408).
    private func armBody(_ context: ChannelHandlerContext) {
        setDeadline(context, in: server.limits.headTime) { connection, context in
            if connection.head != nil {
                connection.refuse(context, 408, "[dashboard] the request did not end within \(Int(connection.server.limits.headTime)) s of its head")
            }
        }
    }

    /// Replaces the connection's one deadline: `fire` runs on the event loop after `seconds`.
    private func setDeadline(_ context: ChannelHandlerContext, in seconds: Double,
                             _ fire: @escaping (HTTPConnection, ChannelHandlerContext) -> Void) {
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context, fire), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            let (connection, context, fire) = loopBound.value
            fire(connection, context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            let limits = server.limits
            guard h.version == .http1_1 || h.version == .http1_0 else {
                return refuse(context, 505, "[dashboard] HTTP/\(h.version.major).\(h.version.minor) is not served; use HTTP/1.1")
            }
            guard h.uri.hasPrefix("/") else { return refuse(context, 400, "[dashboard] request target \(h.uri.prefix(64)) is not a path") }
            guard h.uri.utf8.count <= limits.target else {
                return refuse(context, 414, "[dashboard] request target longer than \(limits.target) bytes")
            }
            if let length = h.headers.first(name: "content-length").flatMap({ Int($0) }), length > limits.body {
                return refuse(context, 413, "[dashboard] request body of \(length) bytes is over the limit of \(limits.body)")
            }
            head = h
            body.clear()
            armBody(context)
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= server.limits.body else {
                return refuse(context, 413, "[dashboard] request body over the limit of \(server.limits.body) bytes")
            }
            body.writeBuffer(&part)
        case .end:
            guard let h = head else { return }
            head = nil
            guard pending.count < Self.maxPending else {
                return refuse(context, 503, "[dashboard] more than \(Self.maxPending) requests waiting on one connection")
            }
            pending.append((h, Array(body.readableBytesView)))
            deadline?.cancel()
            if !busy { next(context) }
        }
    }

    /// Answers the next waiting request, or sends the refusal that waited for them, or waits for more.
    private func next(_ context: ChannelHandlerContext) {
        guard !pending.isEmpty else {
            if let r = refusal {
                refusal = nil
                refused = false
                refuse(context, r.status, r.message)
            } else {
                arm(context)
            }
            return
        }
        let (h, bytes) = pending.removeFirst()
        busy = true
        answer(h, bytes, context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parse = error as? HTTPParserError {
            switch parse {
            case .headerOverflow: refuse(context, 431, "[dashboard] request head longer than \(server.limits.head) bytes")
            default: refuse(context, 400, "[dashboard] malformed request: \(parse)")
            }
        } else {
            context.close(promise: nil)
        }
    }

    /// Answers with `status` and closes, reading no more of the request.
    private func refuse(_ context: ChannelHandlerContext, _ status: Int, _ message: String) {
        guard !refused else { return }
        refused = true
        deadline?.cancel()
        if busy || !pending.isEmpty {
            refusal = (status, message)
            return
        }
        let response = DashboardRoutes.error(status, message)
        guard case .bytes(let bytes) = response.body else { return }
        context.write(wrapOutboundOut(.head(response.head(version: .http1_1, length: bytes.count, keepAlive: false))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            // Stop writing, then close once the client has read the answer and closed its end (or after 2 s),
            // so an unread request body does not reset the connection before the answer arrives.
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    private func answer(_ h: HTTPRequestHead, _ bytes: [UInt8], _ context: ChannelHandlerContext) {
        let server = self.server
        let channel = context.channel
        let keepAlive = h.isKeepAlive
        var gathered: [String: String] = [:]
        for (name, value) in h.headers {
            let key = name.lowercased()
            gathered[key] = gathered[key].map { $0 + (key == "cookie" ? "; " : ", ") + value } ?? value
        }
        let headers = gathered
        let (path, query) = HTTPServer.split(h.uri)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        server.work {
            let response: HTTPResponse
            if let path {
                response = server.handler(HTTPRequest(method: h.method.rawValue, target: h.uri, path: path, query: query,
                                                      headers: headers, body: bytes))
            } else {
                response = DashboardRoutes.error(400, "[dashboard] request target \(h.uri) does not decode")
            }
            switch response.body {
            case .bytes(let out):
                channel.write(HTTPServerResponsePart.head(response.head(version: h.version, length: out.count, keepAlive: keepAlive)), promise: nil)
                channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: out))), promise: nil)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                    if !keepAlive { channel.close(promise: nil) }
                }
                channel.eventLoop.execute {
                    let (connection, context) = loopBound.value
                    connection.busy = false
                    if keepAlive { connection.next(context) }
                }
            case .stream(let write):
                _ = try? channel.writeAndFlush(HTTPServerResponsePart.head(response.head(version: h.version, length: nil, keepAlive: false))).wait()
                try? write(HTTPStream(channel: channel, server: server))
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}

extension HTTPResponse {
    /// NIO's response head: the headers, `Server`, `Content-Length` (none for a stream, which
    /// the connection's close ends) and `Connection`.
    func head(version: HTTPVersion, length: Int?, keepAlive: Bool) -> HTTPResponseHead {
        var fields = HTTPHeaders(headers.map { ($0.name, $0.value) })
        fields.add(name: "Server", value: "myelin")
        if let length { fields.add(name: "Content-Length", value: "\(length)") }
        fields.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return HTTPResponseHead(version: version, status: .init(statusCode: status), headers: fields)
    }
}

extension HTTPServer {
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
}
