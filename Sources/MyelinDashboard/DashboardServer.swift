import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import MyelinRun
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dashboard's HTTP server: serves the run folders under one directory (live runs of this
/// process with their controls) until stopped.
///
/// It binds to 127.0.0.1 unless told otherwise; any other host needs the access token, which is
/// made at start, printed in the URL, and checked on every request (query `token=` or the cookie
/// the first page load sets), as Jupyter does. A port in use is reported and the next free one
/// taken; port 0 lets the system choose.
///
/// ```swift
/// let server = try DashboardServer.start(root: "runs", port: 6006, output: { print($0) })
/// print(server.url)   // http://127.0.0.1:6006/
/// server.wait()       // serves until the process ends
/// ```
public final class DashboardServer: @unchecked Sendable {
    // @unchecked: `group` is set once in `launch` before the server is shared, then only read.

    /// Where to point a browser (with the token when there is one).
    public let url: String
    public let host: String
    public let port: Int
    /// The access token, nil on loopback.
    public let token: String?
    private var group: ServiceGroup?
    private let finished: DispatchSemaphore

    private init(host: String, port: Int, token: String?, finished: DispatchSemaphore) {
        self.finished = finished
        self.host = host
        self.port = port
        self.token = token
        let shownHost = host.contains(":") ? "[\(host)]" : host
        url = "http://\(shownHost):\(port)/" + (token.map { "?token=" + $0 } ?? "")
    }

    /// The hosts that are this machine only: no token needed.
    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Starts serving `root` on `host`:`port` (the next free port when it is taken, reported
    /// through `output`; 0: any free port) and returns once the server listens. `live` are this
    /// process's trainings, by run id. Throws `DashboardError` when no port can be had.
    ///
    /// Blocks the calling thread until the server listens: call it from ordinary threads (the
    /// command's); async code uses `launch`.
    public static func start(root: String, host: String = "127.0.0.1", port: Int = 6006, live: [LiveRun] = [],
                             token: String? = nil, pollInterval: Double = 0.25,
                             output: @escaping @Sendable (String) -> Void = { _ in }) throws -> DashboardServer {
        let result = Started()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                result.set(.success(try await launch(root: root, host: host, port: port, live: live, token: token,
                                                     pollInterval: pollInterval, output: output)))
            } catch {
                result.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try result.get()
    }

    /// `start` for async code: returns once the server listens.
    public static func launch(root: String, host: String = "127.0.0.1", port: Int = 6006, live: [LiveRun] = [],
                              token: String? = nil, pollInterval: Double = 0.25,
                              output: @escaping @Sendable (String) -> Void = { _ in }) async throws -> DashboardServer {
        guard (0...65535).contains(port) else { throw DashboardError(op: "dashboard", "--port must be in 0...65535, got \(port)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DashboardError(op: "dashboard", "\(root) is not a folder")
        }
        let chosen = try freePort(host: host, from: port, output: output)
        let token = isLoopback(host) ? nil : (token ?? makeToken())
        let index = RunIndex(root: root)
        let routes = DashboardRoutes(index: index, store: RunStore(index: index),
                                     live: Dictionary(live.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                                     playground: PlaygroundHost(), pollInterval: pollInterval)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: GuardMiddleware(token: token))
        routes.register(on: router)
        var logger = Logger(label: "myelin-dashboard")
        logger.logLevel = .critical
        let bound = BoundPort()
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: chosen), serverName: "myelin"),
                              onServerRunning: { channel in bound.set(channel.localAddress?.port ?? chosen) },
                              logger: logger)
        let failure = BoundPort.Failure()
        // Stopped by a graceful shutdown, never by cancelling: cancelling NIO's server while it holds
        // accepted connections not yet handed out traps ("Deinited NIOAsyncWriter without calling
        // finish()", swift-server/swift-http-server#137).
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await group.run() } catch { failure.set("\(error)") }
            bound.set(-1)
            finished.signal()
        }
        // Generous: binding takes milliseconds, but a process whose concurrency threads are busy
        // (a test run) may start the server's task late.
        guard let actual = await bound.value(within: 300), actual > 0 else {
            await group.triggerGracefulShutdown()
            throw DashboardError(op: "dashboard", "cannot serve on \(host):\(chosen): \(failure.message ?? "the server did not start")")
        }
        let server = DashboardServer(host: host, port: actual, token: token, finished: finished)
        server.group = group
        return server
    }

    /// Blocks until the server stops.
    public func wait() { finished.wait() }

    /// Stops serving: no new connections; open event streams end at their next look at the logs
    /// (a stream whose reader stopped reading ends when its socket closes). Returns at once.
    public func stop() {
        guard let group else { return }
        Task.detached { await group.triggerGracefulShutdown() }
    }

    /// `port` if it can be bound on `host`, else the next one that can (up to 100 further),
    /// saying so; 0 stays 0.
    static func freePort(host: String, from port: Int, output: (String) -> Void) throws -> Int {
        guard port != 0 else { return 0 }
        for candidate in port..<min(port + 100, 65536) {
            if canBind(host: host, port: candidate) {
                if candidate != port { output("port \(port) is in use; serving on \(candidate) instead") }
                return candidate
            }
        }
        throw DashboardError(op: "dashboard", "ports \(port) to \(min(port + 99, 65535)) on \(host) are all in use; try --port 0")
    }

    /// Whether a listening socket could be made on `host`:`port` now.
    static func canBind(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_PASSIVE
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { return false }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var yes: Int32 = 1
        // As the server will: SO_REUSEADDR lets a port in TIME_WAIT be taken, never one someone listens on.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        return bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 && listen(fd, 1) == 0
    }

    static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The result of `launch`, handed to the thread blocked in `start`.
final class Started: @unchecked Sendable {
    // @unchecked: `result` is written before the semaphore is signalled and read after waiting on it.
    private var result: Result<DashboardServer, Error>?
    func set(_ r: Result<DashboardServer, Error>) { result = r }
    func get() throws -> DashboardServer { try result!.get() }
}

/// The bound port, handed from the server's start to the caller waiting for it.
final class BoundPort: @unchecked Sendable {
    // @unchecked: `value` is guarded by `condition`.
    private let condition = NSCondition()
    private var value: Int?

    func set(_ port: Int) {
        condition.withLock {
            if value == nil { value = port }
            condition.broadcast()
        }
    }

    /// The port once set, polling every 5 ms for `seconds` at most (nil then).
    func value(within seconds: Double) async -> Int? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if let v = condition.withLock({ value }) { return v }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return condition.withLock { value }
    }

    final class Failure: @unchecked Sendable {
        // @unchecked: `text` is guarded by `lock`.
        private let lock = NSLock()
        private var text: String?
        func set(_ message: String) { lock.withLock { text = message } }
        var message: String? { lock.withLock { text } }
    }
}

/// Every request: the access token when one is set (query `token=`, or the cookie set when the
/// page was opened with it), and a bounded URL.
struct GuardMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?
    static let maxTarget = 4096

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.description.utf8.count <= Self.maxTarget else {
            return DashboardRoutes.error(.uriTooLong, "[dashboard] request target longer than \(Self.maxTarget) bytes")
        }
        guard let token else { return try await next(request, context) }
        let given = request.uri.queryParameters.get("token")
        let cookie = request.headers[.cookie]?.split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("myelin_token=") }
            .map { String($0.dropFirst("myelin_token=".count)) }
        guard Self.same(given, token) || Self.same(cookie, token) else {
            return DashboardRoutes.error(.unauthorized, "[dashboard] this server needs its access token: open the URL it printed")
        }
        var response = try await next(request, context)
        if Self.same(given, token) {
            response.headers[.setCookie] = "myelin_token=\(token); Path=/; HttpOnly; SameSite=Strict"
        }
        return response
    }

    /// Compares without stopping at the first different byte.
    static func same(_ a: String?, _ b: String) -> Bool {
        guard let a, a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
