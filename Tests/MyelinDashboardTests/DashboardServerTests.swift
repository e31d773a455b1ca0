import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import MyelinTestSupport
@testable import MyelinDashboard
@testable import MyelinWebDriver
import MyelinCore
import MyelinData
import MyelinNN
import MyelinRun
import MyelinTrain

/// A folder of run folders made for one test: a finished run "a", a nested "exp/b", and a file
/// beside them that must never be served.
func makeRunsFolder() throws -> String {
    let root = temporaryTestPath("dash")
    for (id, steps) in [("a", 5), ("exp/b", 3)] {
        let dir = root + "/" + id
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var csv = BatchLog.header + "\n"
        for s in 1...steps { csv += "\(s),0,\(s - 1),\(1.0 / Double(s)),0.01\n" }
        try csv.write(toFile: dir + "/batches.csv", atomically: true, encoding: .utf8)
        try "epoch,loss,accuracy\n0,0.5,0.75\n".write(toFile: dir + "/metrics.csv", atomically: true, encoding: .utf8)
        try "<svg xmlns='http://www.w3.org/2000/svg'/>".write(toFile: dir + "/confusion.svg", atomically: true, encoding: .utf8)
    }
    try "secret".write(toFile: root + "/secret.txt", atomically: true, encoding: .utf8)
    return root
}

/// One request to the server: status and body.
func fetch(_ url: String, method: String = "GET", body: Data? = nil, headers: [String: String] = [:]) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

/// A socket connected to 127.0.0.1:`port` for a test that writes and reads raw HTTP.
func connectLoopback(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
    try LoopbackHTTP.connectLoopback(port: port, timeout: .seconds(60), command: "connect", receiveBuffer: receiveBuffer)
}

/// A raw request over a socket (for what URLSession refuses to send: `..` in paths, huge headers).
///
/// It reads until the server closes, `enough` says the reply is complete (for streams that never
/// end), or `timeout` seconds pass. The blocking socket calls run on a thread of their own, so
/// they never hold one of Swift's two concurrency threads that the server's handlers need.
func rawRequest(port: Int, _ text: String, timeout: Int = 60, until enough: @escaping @Sendable (String) -> Bool = { _ in false }) async -> String {
    await onOwnThread { blockingRequest(port: port, text, timeout: timeout, until: enough) }
}

/// `body`'s result, computed on a new thread (blocking calls there hold none of Swift's concurrency threads).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (done: CheckedContinuation<T, Never>) in
        Thread.detachNewThread { done.resume(returning: body()) }
    }
}

private func blockingRequest(port: Int, _ text: String, timeout: Int, until enough: (String) -> Bool) -> String {
    guard let fd = try? connectLoopback(port: port) else { return "" }
    defer { close(fd) }
    try? LoopbackHTTP.sendAll(fd, Data(text.utf8), command: "request")
    return blockingRead(fd, timeout: timeout, until: enough)
}

/// Reads until the peer closes, `enough` says the text is complete, or `timeout` seconds pass.
func blockingRead(_ fd: Int32, timeout: Int, until enough: (String) -> Bool) -> String {
    // Short receive waits, so the deadline is checked while a stream is quiet.
    var wait = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    let deadline = Date().addingTimeInterval(Double(timeout))
    var out = [UInt8](repeating: 0, count: 65536)
    var got: [UInt8] = []
    while Date() < deadline {
        let n = recv(fd, &out, out.count, 0)
        if n == 0 { break }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            break
        }
        got += out[0..<n]
        if got.count > 1 << 20 || enough(String(decoding: got, as: UTF8.self)) { break }
    }
    return String(decoding: got, as: UTF8.self)
}

@Suite("Dashboard server")
struct DashboardServerTests {
    @Test func servesPagesAndRunsOnLoopbackByDefault() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await DashboardServer.launch(root: root, port: 0)
        defer { server.stop() }
        #expect(server.host == "127.0.0.1")
        #expect(server.token == nil)
        #expect(server.url == "http://127.0.0.1:\(server.port)/")
        let (status, page) = try await fetch(server.url)
        #expect(status == 200)
        #expect(page.contains("<script src=\"/assets/dashboard.js\">"))
        let (_, js) = try await fetch(server.url + "assets/dashboard.js")
        #expect(js.contains("EventSource"))
        let (_, runs) = try await fetch(server.url + "api/runs")
        let list = try JSONSerialization.jsonObject(with: Data(runs.utf8)) as! [String: Any]
        let ids = (list["runs"] as! [[String: Any]]).map { $0["id"] as! String }.sorted()
        #expect(ids == ["a", "exp/b"])
        let (_, steps) = try await fetch(server.url + "api/steps?id=exp/b&from=1")
        let s = try JSONSerialization.jsonObject(with: Data(steps.utf8)) as! [String: Any]
        #expect(s["step"] as! [Int] == [2, 3])
        #expect(s["total"] as! Int == 3)
        #expect(s["loss"] as! [Double] == [0.5, 1.0 / 3])
        // A step count that is no whole number from 0 is refused (a huge one read as 0 and sent every step).
        for bad in ["99999999999999999999", "-1", "x"] {
            let (status, body) = try await fetch(server.url + "api/steps?id=exp/b&from=" + bad)
            #expect(status == 400 && body.contains("from must be a whole number of steps from 0, got '\(bad)'"), "\(bad): \(status)")
        }
    }

    @Test func onlyRunFoldersUnderTheRootAreReadable() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try await DashboardServer.launch(root: root, port: 0)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        for target in ["/api/run?id=..", "/api/run?id=../", "/api/run?id=%2E%2E%2Fetc", "/api/run?id=/etc",
                       "/api/file?id=a&name=../secret.txt", "/api/file?id=a&name=..%2Fsecret.txt",
                       "/api/file?id=..&name=secret.txt", "/api/file?id=a&name=model.safetensors",
                       "/api/file?id=a&name=feature-maps-../../secret.txt.svg", "/api/steps?id=a/../exp/b"] {
            let (status, body) = try await fetch(base + target)
            #expect(status == 404, "\(target) gave \(status)")
            #expect(!body.contains("secret\""), "\(target)")
        }
        for path in ["/assets/../secret.txt", "/assets/..%2F..%2Fsecret.txt", "/../secret.txt", "/a/confusion.svg"] {
            let reply = await rawRequest(port: server.port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(!reply.contains("\r\n\r\nsecret"), "\(path): \(reply.prefix(80))")
            #expect(!reply.hasPrefix("HTTP/1.1 200"), "\(path)")
        }
        let (ok, svg) = try await fetch(base + "/api/file?id=exp/b&name=confusion.svg")
        #expect(ok == 200 && svg.hasPrefix("<svg"))
    }

    @Test func requestSizesAreBounded() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let live = LiveRun(id: "a")
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live])
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let (big, _) = try await fetch(base + "/api/control?id=a", method: "POST", body: Data(repeating: 32, count: 1 << 20))
        #expect(big == 413)
        let long = String(repeating: "x", count: 8000)
        let (uri, _) = try await fetch(base + "/api/runs?pad=" + long)
        #expect(uri == 414)
        let header = String(repeating: "y", count: 200_000)
        let reply = await rawRequest(port: server.port, "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(header)\r\nConnection: close\r\n\r\n")
        #expect(!reply.hasPrefix("HTTP/1.1 200"))
        // The server still answers after the bad requests.
        let (status, _) = try await fetch(base + "/api/runs")
        #expect(status == 200)
    }

    /// Another site cannot use a loopback dashboard: a name rebound to 127.0.0.1 (DNS rebinding)
    /// is refused, and so is a change sent by a page of another origin (a text/plain POST needs no
    /// CORS preflight, so any open page could pause a training). The dashboard's own page still works.
    @Test func otherSitesCannotUseALoopbackDashboard() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let live = LiveRun(id: "a")
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live])
        defer { server.stop() }
        let port = server.port
        let rebound = await rawRequest(port: port, "GET /api/runs HTTP/1.1\r\nHost: attacker.example:\(port)\r\nConnection: close\r\n\r\n")
        #expect(rebound.hasPrefix("HTTP/1.1 403") && rebound.contains("not attacker.example"), "\(rebound.prefix(120))")
        for host in ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)", "127.0.0.1"] {
            let reply = await rawRequest(port: port, "GET /api/runs HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(host): \(reply.prefix(60))")
        }
        let base = "http://127.0.0.1:\(port)"
        let pause = Data(#"{"action":"pause"}"#.utf8)
        let (foreign, body) = try await fetch(base + "/api/control?id=a", method: "POST", body: pause,
                                              headers: ["Origin": "http://attacker.example", "Content-Type": "text/plain"])
        #expect(foreign == 403 && body.contains("a page of http://attacker.example may not change runs"))
        #expect(live.current.state != .paused)
        let (own, _) = try await fetch(base + "/api/control?id=a", method: "POST", body: pause, headers: ["Origin": base])
        #expect(own == 200 && live.current.state == .paused)
        // Reading is not a change: a GET with another Origin is answered (the browser keeps the body from that page).
        let (read, _) = try await fetch(base + "/api/runs", headers: ["Origin": "http://attacker.example"])
        #expect(read == 200)
    }

    /// A training with --overwrite is staged beside the older run it replaces: its live controls
    /// belong to the staged `a (new)`, not to the finished `a` (which carried them before).
    @Test func aLiveRunBesideAnOlderOneIsTheStagedOne() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let staged = root + "/.a.tmp-\(getpid())"
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
        try (BatchLog.header + "\n1,0,0,0.9,0.01\n").write(toFile: staged + "/batches.csv", atomically: true, encoding: .utf8)
        let live = LiveRun(id: RunIndex.stagedID("a", besideOlder: FileManager.default.fileExists(atPath: root + "/a")))
        #expect(live.id == "a (new)")
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live])
        defer { server.stop() }
        let (_, runs) = try await fetch("http://127.0.0.1:\(server.port)/api/runs")
        let list = (try JSONSerialization.jsonObject(with: Data(runs.utf8)) as! [String: Any])["runs"] as! [[String: Any]]
        let byID = Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as! String, $0) })
        #expect(byID["a (new)"]?["live"] != nil && byID["a"]?["live"] == nil, "\(runs)")
    }

    @Test func otherHostsNeedTheToken() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // 0.0.0.0 listens on loopback too, so the test can reach it; it is not a loopback host.
        let server = try await DashboardServer.launch(root: root, host: "0.0.0.0", port: 0)
        defer { server.stop() }
        let token = try #require(server.token)
        #expect(token.count == 48)
        #expect(server.url.hasSuffix("/?token=" + token))
        let base = "http://127.0.0.1:\(server.port)"
        for path in ["/", "/api/runs", "/api/run?id=a", "/assets/dashboard.js", "/api/events"] {
            let (status, _) = try await fetch(base + path)
            #expect(status == 401, "\(path)")
            let (wrong, _) = try await fetch(base + path + (path.contains("?") ? "&" : "?") + "token=" + String(token.reversed()))
            #expect(wrong == 401, "\(path)")
        }
        let (ok, _) = try await fetch(base + "/api/runs?token=" + token)
        #expect(ok == 200)
        let (cookie, _) = try await fetch(base + "/api/runs", headers: ["Cookie": "myelin_token=" + token])
        #expect(cookie == 200)
    }

    @Test func aPortInUseMovesToTheNextFreeOne() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try await DashboardServer.launch(root: root, port: 0)
        defer { first.stop() }
        let said = Said()
        let second = try await DashboardServer.launch(root: root, port: first.port, output: { said.add($0) })
        defer { second.stop() }
        #expect(second.port > first.port && second.port <= first.port + 100)
        #expect(said.lines == ["port \(first.port) is in use; serving on \(second.port) instead"])
        await #expect(throws: DashboardError.self) { try await DashboardServer.launch(root: root + "/nope", port: 0) }
        await #expect(throws: DashboardError.self) { try await DashboardServer.launch(root: root, port: 70000) }
    }

    @Test func eventsReportNewSteps() async throws {
        let root = try makeRunsFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let live = LiveRun(id: "a")
        let server = try await DashboardServer.launch(root: root, port: 0, live: [live], pollInterval: 0.05)
        defer { server.stop() }
        // The stream never ends: the read stops once the first event naming the live run arrived.
        let reply = await rawRequest(port: server.port, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") {
            $0.contains("{\"id\":\"a\",\"steps\":5,")
        }
        #expect(reply.contains("text/event-stream"))
        #expect(reply.contains("data: {\"runs\":2"))
        #expect(reply.contains("{\"id\":\"a\",\"steps\":5,"))
    }
}

/// Lines a server printed, collected across threads.
final class Said: @unchecked Sendable {
    // @unchecked: `stored` is guarded by `lock`.
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
