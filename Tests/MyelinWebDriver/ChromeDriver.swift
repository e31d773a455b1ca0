import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A chromedriver child process listening on a free port of 127.0.0.1.
///
/// chromedriver runs in a process group of its own, and the browsers it launches join that group;
/// `stop()` (also called by `deinit`) kills the whole group with SIGKILL and reaps chromedriver.
/// A watchdog shell in the group holds the read end of a pipe whose write end only this process
/// holds: when the test process dies without stopping the driver (crash, SIGKILL), the watchdog
/// reads end-of-file and kills the group, so no chromedriver or Chromium is left behind.
/// (Killing chromedriver alone is not enough: Chromium survives it, reparented to init.)
public final class ChromeDriver: Sendable {
    /// The loopback port chromedriver listens on.
    public let port: Int
    /// chromedriver's process id, which is also its process group id.
    public let processID: Int32
    /// The executables in use.
    public let paths: BrowserPaths
    /// A private temporary directory holding chromedriver's log and the browsers' profiles; removed by `stop()`.
    /// It is made in /dev/shm when that is a writable directory (Linux): a profile holds about 230 files, and
    /// deleting them from a disk took 0.5 s per session on our build machine, from tmpfs 5 ms.
    public let workDirectory: URL
    /// chromedriver's stdout and stderr.
    public var logFile: URL { workDirectory.appendingPathComponent("chromedriver.log") }

    private let lifeline: Int32
    private let state = Mutex(State())
    let connection: DriverConnection

    private struct State {
        var stopped = false
        var exitStatus: Int32?
        var sessions = 0
    }

    private init(port: Int, processID: Int32, paths: BrowserPaths, workDirectory: URL, lifeline: Int32) {
        self.port = port
        self.processID = processID
        self.paths = paths
        self.workDirectory = workDirectory
        self.lifeline = lifeline
        connection = DriverConnection(port: port)
    }

    deinit { stop() }

    /// Starts chromedriver on a free loopback port and waits until `GET /status` says it is ready.
    ///
    /// Throws `browserNotFound` when the executables are missing and `driverStartFailed` when chromedriver
    /// exits or is not ready within `startupTimeout` (with the end of its log). Retries twice on a new port
    /// when chromedriver exits at once (the free port may have been taken meanwhile). The default is
    /// generous: a full test run keeps Swift's concurrency threads busy for tens of seconds, and the
    /// polls wait for them.
    public static func start(paths: BrowserPaths? = nil, startupTimeout: Duration = .seconds(120)) async throws -> ChromeDriver {
        let paths = try paths ?? BrowserAvailability.locate()
        var lastError: WebDriverError?
        for _ in 0..<3 {
            let driver = try spawn(paths: paths)
            do {
                try await driver.waitUntilReady(timeout: startupTimeout)
                return driver
            } catch {
                let exited = driver.state.withLock { $0.exitStatus } != nil
                driver.stop()
                guard exited, let error = error as? WebDriverError else { throw error }  // still running: not a port clash
                lastError = error
            }
        }
        throw lastError!
    }

    /// Whether chromedriver is still running (false once it exited or `stop()` was called).
    public var isRunning: Bool {
        state.withLock { state in
            if state.stopped || state.exitStatus != nil { return false }
            var status: Int32 = 0
            if waitpid(processID, &status, WNOHANG) == processID {
                state.exitStatus = status
                return false
            }
            return true
        }
    }

    /// Kills chromedriver and every browser it started (SIGKILL to the process group), reaps it and removes
    /// `workDirectory`. Idempotent; call `WebDriverSession.delete()` first for a clean browser shutdown.
    public func stop() {
        let alreadyStopped = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !alreadyStopped else { return }
        kill(-processID, SIGKILL)
        close(lifeline)
        state.withLock { state in
            if state.exitStatus == nil {
                var status: Int32 = 0
                while waitpid(processID, &status, 0) == -1 && errno == EINTR {}
                state.exitStatus = status
            }
        }
        try? FileManager.default.removeItem(at: workDirectory)
    }

    /// Creates a browser session (headless Chromium; see `BrowserOptions`) and sets its viewport size.
    public func newSession(_ options: BrowserOptions = BrowserOptions()) async throws -> WebDriverSession {
        let number = state.withLock { state -> Int in
            state.sessions += 1
            return state.sessions
        }
        let profile = workDirectory.appendingPathComponent("profile-\(number)", isDirectory: true)
        let capabilities = options.capabilities(chromium: paths.chromium, userDataDirectory: profile.path)
        let answer = try await connection.command("POST", "/session", body: ["capabilities": ["alwaysMatch": capabilities]], timeout: options.commandTimeout)
        guard let id = answer["sessionId"]?.string else {
            throw WebDriverError(.invalidResponse, "no sessionId in the answer: \(String(answer.description.prefix(300)))", command: "POST /session")
        }
        let session = WebDriverSession(id: id, capabilities: answer["capabilities"] ?? .null, driver: self, options: options)
        do {
            try await session.setViewport(width: options.viewportWidth, height: options.viewportHeight)
        } catch {
            try? await session.delete()
            throw error
        }
        return session
    }

    // MARK: - Process

    /// The watchdog: keeps the pipe on fd 3 in a background subshell, then replaces itself with chromedriver (so the
    /// spawned pid is chromedriver's). At end-of-file the subshell, immune to SIGTERM, sends SIGTERM to the group
    /// (chromedriver dies, Chromium shuts down), removes the work directory (`$1`) and kills what is left, itself last.
    private static let launcher = """
        dir=$1; shift
        exec 3<&0 0</dev/null
        ( trap '' TERM; read -r line <&3; kill -TERM 0; sleep 1; rm -rf "$dir"; kill -KILL 0 ) &
        exec "$@" 3<&-
        """

    private static func spawn(paths: BrowserPaths) throws -> ChromeDriver {
        let port = try LoopbackHTTP.freePort()
        let parent = scratchParent()
        var template = Array((parent as NSString).appendingPathComponent("myelin-webdriver-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw WebDriverError(.driverStartFailed, "cannot create a temporary directory in \(parent): \(errnoText())")
        }
        let workDirectory = URL(fileURLWithPath: String(cString: made), isDirectory: true)
        let logPath = workDirectory.appendingPathComponent("chromedriver.log").path

        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            try? FileManager.default.removeItem(at: workDirectory)
            throw WebDriverError(.driverStartFailed, "pipe() failed: \(errnoText())")
        }
        // Neither end may leak into other children of this process (only fd 0 of the launcher keeps the read end).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { close(fds[0]) }

        let arguments = ["/bin/sh", "-c", launcher, "myelin-chromedriver", workDirectory.path, paths.chromedriver, "--port=\(port)"]
        var pid: pid_t = 0
        let rc = withSpawnSetup(stdinFD: fds[0], logPath: logPath) { actions, attributes in
            withCStrings(arguments) { argv in posix_spawn(&pid, "/bin/sh", actions, attributes, argv, environ) }
        }
        guard rc == 0 else {
            close(fds[1])
            try? FileManager.default.removeItem(at: workDirectory)
            throw WebDriverError(.driverStartFailed, "cannot spawn \(paths.chromedriver): \(String(cString: strerror(rc))) (error \(rc))")
        }
        return ChromeDriver(port: port, processID: pid, paths: paths, workDirectory: workDirectory, lifeline: fds[1])
    }

    /// /dev/shm when it is a writable directory, else the temporary directory.
    private static func scratchParent() -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue,
            access("/dev/shm", W_OK | X_OK) == 0
        {
            return "/dev/shm"
        }
        return NSTemporaryDirectory()
    }

    /// Polls `GET /status`. The deadline is checked only right after a poll, so a test process whose cooperative
    /// threads are all busy (Swift Testing runs suites in parallel) cannot time out without a poll after the deadline.
    private func waitUntilReady(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var polls = 0
        var last = "no answer yet"
        while true {
            polls += 1
            if !isRunning {
                let status = state.withLock { $0.exitStatus } ?? 0
                let how = status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
                throw WebDriverError(.driverStartFailed, "\(paths.chromedriver) \(how) before it was ready on port \(port); its output: \(logTail())")
            }
            do {
                let status = try await connection.command("GET", "/status", timeout: .seconds(2))
                if status["ready"]?.bool == true { return }
                last = "not ready: \(status["message"]?.string ?? status.description)"
            } catch let error as WebDriverError {
                last = error.message
            }
            if clock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw WebDriverError(.driverStartFailed, "\(paths.chromedriver) not ready on port \(port) within \(timeout), \(polls) polls (last: \(last)); its output: \(logTail())")
    }

    /// The last 1,500 characters of chromedriver's log, on one line.
    func logTail() -> String {
        guard let data = FileManager.default.contents(atPath: logFile.path), !data.isEmpty else { return "(nothing)" }
        let text = String(decoding: data.suffix(1500), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).joined(separator: " | ")
    }
}

/// File actions (stdin from `stdinFD`, stdout and stderr to `logPath`) and attributes (a new process group,
/// an empty signal mask) for posix_spawn.
#if canImport(Darwin)
private typealias SpawnActions = posix_spawn_file_actions_t?
private typealias SpawnAttributes = posix_spawnattr_t?
#else
private typealias SpawnActions = posix_spawn_file_actions_t
private typealias SpawnAttributes = posix_spawnattr_t
#endif

private func withSpawnSetup(stdinFD: Int32, logPath: String, _ body: (UnsafePointer<SpawnActions>, UnsafePointer<SpawnAttributes>) -> Int32) -> Int32 {
    #if canImport(Darwin)
    var actions: posix_spawn_file_actions_t? = nil
    var attributes: posix_spawnattr_t? = nil
    #else
    var actions = posix_spawn_file_actions_t()
    var attributes = posix_spawnattr_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    posix_spawnattr_init(&attributes)
    defer {
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attributes)
    }
    posix_spawn_file_actions_adddup2(&actions, stdinFD, 0)
    posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
    return body(&actions, &attributes)
}

/// A NULL-terminated C argument vector for the duration of `body`.
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

/// The HTTP side of one chromedriver: JSON commands, run on a serial dispatch queue of its own (an overcommitting one, which
/// gets a thread of its own when blocked) so that blocking socket I/O never occupies Swift concurrency's cooperative threads (a test's own HTTP server may need them).
final class DriverConnection: Sendable {
    let port: Int
    private let queue: DispatchQueue

    init(port: Int) {
        self.port = port
        queue = DispatchQueue(label: "myelin.webdriver.\(port)")
    }

    /// Sends a command and returns the `value` of chromedriver's answer; throws `WebDriverError` with the W3C code
    /// for an error answer.
    func command(_ method: String, _ path: String, body: WebDriverJSON? = nil, timeout: Duration = .seconds(60)) async throws -> WebDriverJSON {
        let data = try body.map { try $0.jsonData() }
        let port = self.port
        let answer: HTTPAnswer = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result(catching: { try LoopbackHTTP.request(port: port, method: method, path: path, body: data, timeout: timeout) }))
            }
        }
        let command = "\(method) \(path)"
        guard let json = try? JSONDecoder().decode(WebDriverJSON.self, from: answer.body) else {
            let text = String(decoding: answer.body.prefix(200), as: UTF8.self)
            throw WebDriverError(.invalidResponse, "answer is not JSON: '\(text)'", command: command, httpStatus: answer.status)
        }
        let value = json["value"] ?? .null
        if let code = value["error"]?.string {
            let message = (value["message"]?.string ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            throw WebDriverError(.init(rawValue: code), message, command: command, httpStatus: answer.status)
        }
        guard answer.status == 200 else {
            throw WebDriverError(.invalidResponse, "HTTP \(answer.status) without a WebDriver error: \(String(json.description.prefix(200)))", command: command, httpStatus: answer.status)
        }
        return value
    }
}
