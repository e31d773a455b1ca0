import Foundation
import Testing
@testable import MyelinDashboard
@testable import MyelinWebDriver

/// The dashboard's own HTTP/1.1 server, on loopback, with a handler that echoes what it read.
@Suite("HTTP server")
struct HTTPServerTests {
    static func echo(_ request: HTTPRequest) -> HTTPResponse {
        if request.path == "/stream" {
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream")], body: .stream { stream in
                var n = 0
                while stream.isOpen {
                    try stream.write("data: \(n)\n\n")
                    n += 1
                    Thread.sleep(forTimeInterval: 0.01)
                }
            })
        }
        let text = "\(request.method) \(request.path) q=\(request.query.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))"
            + " body=\(String(decoding: request.body, as: UTF8.self)) cookie=\(request.headers["cookie"] ?? "-")"
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: .bytes(Array(text.utf8)))
    }

    func serve(_ limits: HTTPServer.Limits = .init()) throws -> (HTTPServer, Int) {
        let server = HTTPServer(limits: limits, handler: Self.echo)
        return (server, try server.listen(host: "127.0.0.1", port: 0))
    }

    @Test func decodesTargetsQueriesHeadersAndBodies() async throws {
        let (server, port) = try serve()
        defer { server.stop() }
        let reply = await rawRequest(port: port, "POST /a%20b?x=1&y=%2E%2E+z&x=2&flag HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\ncookie: b=2\r\n"
                                     + "Content-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(reply.hasSuffix("\r\n\r\nPOST /a b q=flag:,x:1,y:.. z body=hello cookie=a=1; b=2"))
        #expect(reply.contains("Content-Length: 55\r\n"))
        let head = await rawRequest(port: port, "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("Connection: close\r\n\r\n"))
    }

    @Test func keepsConnectionsAliveAndAnswersPipelinedRequestsInOrder() async throws {
        let (server, port) = try serve()
        defer { server.stop() }
        // Two requests in one write, the second with a body, then a third after them on the same connection.
        let reply = await rawRequest(port: port, "GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                                     + "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let answers = reply.components(separatedBy: "HTTP/1.1 200 OK").dropFirst()
        #expect(answers.count == 3)
        #expect(reply.contains("GET /one q= body="))
        #expect(reply.contains("POST /two q= body=abc"))
        #expect(reply.contains("GET /three q= body="))
        #expect(reply.components(separatedBy: "Connection: keep-alive").count == 3)
        // HTTP/1.0 closes after one answer unless asked otherwise.
        let old = await rawRequest(port: port, "GET /old HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n")
        #expect(old.contains("GET /old") && !old.contains("/never"))
    }

    @Test func refusesWhatIsMalformedOrTooBig() async throws {
        let (server, port) = try serve(.init(target: 100, head: 1000, body: 10))
        defer { server.stop() }
        let cases: [(String, String)] = [
            ("GARBAGE\r\n\r\n", "400"),
            ("GET nohost HTTP/1.1\r\n\r\n", "400"),
            ("GET / HTTP/1.2\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nno colon here\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "400"),
            ("GET /" + String(repeating: "a", count: 101) + " HTTP/1.1\r\n\r\n", "414"),
            // Longer than the whole head may be: NIO's decoder stops it before the target is complete.
            ("GET /" + String(repeating: "a", count: 5000), "431"),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 2000) + "\r\n\r\n", "431"),
            ("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", "413"),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n", "413"),
        ]
        for (request, status) in cases {
            let reply = await rawRequest(port: port, request)
            #expect(reply.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(40)): \(reply.prefix(60))")
            #expect(reply.contains("{\"error\":\"[dashboard] "), "\(request.prefix(40))")
        }
        // Random bytes never stop it from answering the next request.
        // A fixed linear congruential sequence, so a failure can be replayed.
        var state: UInt64 = 7
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        for _ in 0..<30 {
            let bytes = (0..<(1 + next() % 300)).map { _ in UInt8(next() & 255) }
            _ = await rawRequest(port: port, String(decoding: bytes, as: UTF8.self) + "\r\n\r\n", timeout: 5)
        }
        let fine = await rawRequest(port: port, "GET /fine HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(fine.hasSuffix("GET /fine q= body= cookie=-"))
    }

    @Test func chunkedBodiesWithinTheLimitAreRead() async throws {
        let (server, port) = try serve(.init(body: 10))
        defer { server.stop() }
        let reply = await rawRequest(port: port, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                     + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK") && reply.hasSuffix("POST /c q= body=abcde cookie=-"))
    }

    @Test func slowBodiesAndIdleConnectionsTimeOut() async throws {
        let (server, port) = try serve(.init(idle: 1, headTime: 1))
        defer { server.stop() }
        let slow = try connectLoopback(port: port), idle = try connectLoopback(port: port)
        defer { close(slow); close(idle) }
        try LoopbackHTTP.sendAll(slow, Data("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8), command: "send")
        let timedOut = await rawRead(slow) { $0.contains("\r\n\r\n{") }
        #expect(timedOut.hasPrefix("HTTP/1.1 408 "))
        // A connection that never sends a head (or only part of one) is closed without an answer.
        try LoopbackHTTP.sendAll(idle, Data("GET / HT".utf8), command: "send")
        let (nothing, seconds) = await timedRawRead(idle) { _ in false }
        #expect(nothing.isEmpty && seconds < 30)
    }

    @Test func connectionsOverTheCapAreRefused() async throws {
        let (server, port) = try serve(.init(connections: 2))
        defer { server.stop() }
        // Two idle connections fill the cap; a third is told so and closed.
        let a = try connectLoopback(port: port), b = try connectLoopback(port: port)
        defer { close(b) }
        for _ in 0..<1000 where server.openConnections < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.openConnections == 2)
        let refused = await rawRequest(port: port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(refused.hasPrefix("HTTP/1.1 503 ") && refused.contains("too many open connections"), "\(refused)")
        // Once one of them closes, a new connection is served.
        close(a)
        var served = ""
        for _ in 0..<600 where !served.hasPrefix("HTTP/1.1 200") {
            try await Task.sleep(for: .milliseconds(50))
            served = await rawRequest(port: port, "GET /again HTTP/1.1\r\nConnection: close\r\n\r\n")
        }
        #expect(served.hasPrefix("HTTP/1.1 200") && served.contains("GET /again"), "\(served)")
    }

    @Test func stopEndsStreamsAndIdleConnections() async throws {
        let (server, port) = try serve()
        let stream = try connectLoopback(port: port)
        let idle = try connectLoopback(port: port)
        defer { close(stream); close(idle) }
        try LoopbackHTTP.sendAll(stream, Data("GET /stream HTTP/1.1\r\n\r\n".utf8), command: "send")
        let started = await rawRead(stream) { $0.contains("data: 2\n\n") }
        #expect(started.hasPrefix("HTTP/1.1 200 OK") && started.contains("Connection: close\r\n"))
        #expect(!started.contains("Content-Length"))
        server.stop()
        // Both connections are closed by the server: their reads end, well before the 60 s deadline.
        let (_, streamSeconds) = await timedRawRead(stream) { _ in false }
        let (_, idleSeconds) = await timedRawRead(idle) { _ in false }
        #expect(streamSeconds + idleSeconds < 30)
        // Returns once the listening socket is closed (its port may be another test's already, so not probed).
        server.wait()
    }
}

/// Reads from an open socket until `enough`, the peer closes, or 60 s pass (on a thread of its own).
func rawRead(_ fd: Int32, until enough: @escaping @Sendable (String) -> Bool) async -> String {
    await onOwnThread { blockingRead(fd, timeout: 60, until: enough) }
}

/// `rawRead` with the seconds the read itself took, timed on its own thread: the awaiting test
/// may resume much later when long synchronous tests hold every cooperative thread (two on a
/// 2-core machine), which once made a prompt close look like 40 s.
func timedRawRead(_ fd: Int32, until enough: @escaping @Sendable (String) -> Bool) async -> (String, Double) {
    await onOwnThread {
        let start = Date()
        let text = blockingRead(fd, timeout: 60, until: enough)
        return (text, Date().timeIntervalSince(start))
    }
}
