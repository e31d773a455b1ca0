import Foundation
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
///
/// The HTTP side is `HTTPServer`, the answers `DashboardRoutes`.
public final class DashboardServer: Sendable {
    /// Where to point a browser (with the token when there is one).
    public let url: String
    public let host: String
    public let port: Int
    /// The access token, nil on loopback.
    public let token: String?
    private let http: HTTPServer
    private let playground: PlaygroundHost

    private init(host: String, port: Int, token: String?, http: HTTPServer, playground: PlaygroundHost) {
        self.http = http
        self.playground = playground
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
    public static func start(root: String, host: String = "127.0.0.1", port: Int = 6006, live: [LiveRun] = [],
                             token: String? = nil, pollInterval: Double = 0.25,
                             output: @escaping @Sendable (String) -> Void = { _ in }) throws -> DashboardServer {
        guard (0...65535).contains(port) else { throw DashboardError(op: "dashboard", "--port must be in 0...65535, got \(port)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw DashboardError(op: "dashboard", "\(root) is not a folder")
        }
        let chosen = try freePort(host: host, from: port, output: output)
        let token = isLoopback(host) ? nil : (token ?? makeToken())
        let index = RunIndex(root: root)
        let playground = PlaygroundHost()
        let routes = DashboardRoutes(index: index, store: RunStore(index: index),
                                     live: Dictionary(live.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                                     playground: playground, pollInterval: pollInterval)
        let http = HTTPServer { request in Self.guarded(request, host: host, token: token, routes: routes) }
        let actual = try http.listen(host: host, port: chosen)
        return DashboardServer(host: host, port: actual, token: token, http: http, playground: playground)
    }

    /// `start` for async code (the same: binding does not wait).
    public static func launch(root: String, host: String = "127.0.0.1", port: Int = 6006, live: [LiveRun] = [],
                              token: String? = nil, pollInterval: Double = 0.25,
                              output: @escaping @Sendable (String) -> Void = { _ in }) async throws -> DashboardServer {
        try start(root: root, host: host, port: port, live: live, token: token, pollInterval: pollInterval, output: output)
    }

    /// Blocks until the server stops.
    public func wait() { http.wait() }

    /// Stops serving: closes every connection, waits (a few seconds at most) for requests being
    /// answered, and ends the playground's trainings.
    public func stop() {
        http.stop()
        playground.endAll()
    }

    /// Every request: refused when it comes from another site (`crossSiteRefusal`), then the
    /// access token when one is set (query `token=`, or the cookie set when the page was opened
    /// with it), then the routes.
    static func guarded(_ request: HTTPRequest, host: String, token: String?, routes: DashboardRoutes) -> HTTPResponse {
        if let refusal = crossSiteRefusal(request, boundHost: host) { return refusal }
        guard let token else { return routes.handle(request) }
        let given = request.query("token")
        let cookie = request.headers["cookie"]?.split(separator: ";")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("myelin_token=") }
            .map { String($0.dropFirst("myelin_token=".count)) }
        guard same(given, token) || same(cookie, token) else {
            return DashboardRoutes.error(401, "[dashboard] this server needs its access token: open the URL it printed")
        }
        var response = routes.handle(request)
        if same(given, token) {
            response.headers.append(("Set-Cookie", "myelin_token=\(token); Path=/; HttpOnly; SameSite=Strict"))
        }
        return response
    }

    /// Why another site may not use this server, or nil. A page the learner has open elsewhere
    /// can send requests to 127.0.0.1 (a POST of text/plain needs no CORS preflight), and a name
    /// of its own can be rebound to this machine's address: so on loopback the Host header must
    /// name this machine, and a request that changes something (pause, stop, the learning rate,
    /// the playground) must come from the dashboard's own origin when the browser says where it
    /// comes from, as Jupyter checks both.
    static func crossSiteRefusal(_ request: HTTPRequest, boundHost: String) -> HTTPResponse? {
        let hostHeader = request.headers["host"]
        if isLoopback(boundHost), let hostHeader, !isLoopback(hostName(hostHeader)) {
            return DashboardRoutes.error(403, "[dashboard] this server answers to names of this machine (localhost), not \(hostHeader)")
        }
        if request.method != "GET" && request.method != "HEAD", let origin = request.headers["origin"] {
            let from = origin.hasPrefix("http://") ? String(origin.dropFirst("http://".count)) : origin
            guard let hostHeader, from == hostHeader else {
                return DashboardRoutes.error(403, "[dashboard] a page of \(origin) may not change runs or the playground")
            }
        }
        return nil
    }

    /// The host of a Host header, without its port (`[::1]:6006` is `::1`).
    static func hostName(_ header: String) -> String {
        if header.hasPrefix("["), let close = header.firstIndex(of: "]") {
            return String(header[header.index(after: header.startIndex)..<close])
        }
        return String(header.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// Compares without stopping at the first different byte.
    static func same(_ a: String?, _ b: String) -> Bool {
        guard let a, a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
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
        // As the server does: SO_REUSEADDR lets a port in TIME_WAIT be taken, never one someone listens on.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        return bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 && listen(fd, 1) == 0
    }

    static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
