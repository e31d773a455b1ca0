import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How the browser of a session is started.
public struct BrowserOptions: Sendable {
    /// The page's viewport (`innerWidth` × `innerHeight`, and so the screenshot size) in CSS pixels.
    public var viewportWidth: Int
    public var viewportHeight: Int
    /// `--headless=new`; false only for debugging with a display.
    public var headless: Bool
    /// More Chromium command-line switches, appended after the defaults.
    public var extraArguments: [String]
    /// How long an `executeAsync` script may run before chromedriver answers "script timeout".
    public var scriptTimeout: Duration
    /// How long a navigation may take before chromedriver answers "timeout".
    public var pageLoadTimeout: Duration
    /// How long the client waits for chromedriver's answer to one command (session creation included).
    public var commandTimeout: Duration

    public init(
        viewportWidth: Int = 1400, viewportHeight: Int = 1000, headless: Bool = true, extraArguments: [String] = [],
        scriptTimeout: Duration = .seconds(10), pageLoadTimeout: Duration = .seconds(30), commandTimeout: Duration = .seconds(60)
    ) {
        self.viewportWidth = viewportWidth
        self.viewportHeight = viewportHeight
        self.headless = headless
        self.extraArguments = extraArguments
        self.scriptTimeout = scriptTimeout
        self.pageLoadTimeout = pageLoadTimeout
        self.commandTimeout = commandTimeout
    }

    /// Chromium's switches: headless, no sandbox when running as root (Chromium refuses to start otherwise),
    /// no GPU, no /dev/shm (small in containers), a fixed window size and a private profile.
    public func chromiumArguments(userDataDirectory: String) -> [String] {
        var args = headless ? ["--headless=new"] : []
        if geteuid() == 0 { args.append("--no-sandbox") }
        args += [
            "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(viewportWidth),\(viewportHeight)",
            "--user-data-dir=\(userDataDirectory)", "--no-first-run", "--no-default-browser-check",
        ]
        return args + extraArguments
    }

    func capabilities(chromium: String, userDataDirectory: String) -> WebDriverJSON {
        [
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": ["script": .number(milliseconds(scriptTimeout)), "pageLoad": .number(milliseconds(pageLoadTimeout)), "implicit": 0],
            "goog:loggingPrefs": ["browser": "ALL"],
            "goog:chromeOptions": [
                "binary": .string(chromium),
                "args": .array(chromiumArguments(userDataDirectory: userDataDirectory).map { .string($0) }),
            ],
        ]
    }
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// One entry of the browser's console log as chromedriver reports it.
public struct BrowserLogEntry: Sendable, Equatable, CustomStringConvertible {
    /// "SEVERE" (console.error, uncaught exceptions, failed loads), "WARNING", "INFO" (console.log, console.info) or "DEBUG".
    public let level: String
    /// The text, prefixed by chromedriver with the source location, e.g. `http://127.0.0.1:8080/ 12:9 "boom"`.
    public let message: String
    /// "console-api" (console.*), "javascript" (uncaught exceptions), "network" (failed requests), …
    public let source: String
    /// Milliseconds since 1970.
    public let timestamp: Double

    /// Whether this is an error: level SEVERE.
    public var isError: Bool { level == "SEVERE" }
    public var description: String { "[\(level) \(source)] \(message)" }
}

/// Special keys for `WebElement.sendKeys` (W3C key codes in the Unicode private use area).
public enum WebKey {
    public static let backspace = "\u{E003}"
    public static let tab = "\u{E004}"
    public static let enter = "\u{E007}"
    public static let escape = "\u{E00C}"
    public static let arrowLeft = "\u{E012}"
    public static let arrowUp = "\u{E013}"
    public static let arrowRight = "\u{E014}"
    public static let arrowDown = "\u{E015}"
    public static let delete = "\u{E017}"
}

/// A WebDriver session: one headless Chromium driven through chromedriver. Create it with
/// `ChromeDriver.newSession` or, simpler, `withBrowser`. All commands throw `WebDriverError`.
public final class WebDriverSession: Sendable {
    /// chromedriver's session id.
    public let id: String
    /// The capabilities chromedriver answered with (browser version, `goog:processID`, …).
    public let capabilities: WebDriverJSON
    /// The driver this session runs on (kept alive by the session).
    public let driver: ChromeDriver
    /// The options the browser was started with.
    public let options: BrowserOptions

    init(id: String, capabilities: WebDriverJSON, driver: ChromeDriver, options: BrowserOptions) {
        self.id = id
        self.capabilities = capabilities
        self.driver = driver
        self.options = options
    }

    /// Sends a raw command under `/session/{id}` (path starting with "/", or "" for the session itself).
    public func command(_ method: String, _ path: String, _ body: WebDriverJSON? = nil) async throws -> WebDriverJSON {
        try await driver.connection.command(method, "/session/\(id)\(path)", body: body ?? (method == "POST" ? .object([:]) : Optional<WebDriverJSON>.none), timeout: options.commandTimeout)
    }

    // MARK: Navigation

    /// Loads `url` and waits for the page to load (document ready state "complete").
    public func navigate(to url: String) async throws { _ = try await command("POST", "/url", ["url": .string(url)]) }
    /// Loads `url` and waits for the page to load.
    public func navigate(to url: URL) async throws { try await navigate(to: url.absoluteString) }
    /// The URL of the current page.
    public func currentURL() async throws -> String { try await command("GET", "/url").string ?? "" }
    /// The title of the current page.
    public func title() async throws -> String { try await command("GET", "/title").string ?? "" }
    /// Reloads the current page.
    public func refresh() async throws { _ = try await command("POST", "/refresh") }

    // MARK: Elements

    /// The first element matching the CSS `selector`; throws "no such element" when there is none.
    public func findElement(_ selector: String) async throws -> WebElement {
        try element(fromAnswer: await command("POST", "/element", ["using": "css selector", "value": .string(selector)]), selector)
    }

    /// Every element matching the CSS `selector`, in document order (empty when none).
    public func findElements(_ selector: String) async throws -> [WebElement] {
        let answer = try await command("POST", "/elements", ["using": "css selector", "value": .string(selector)])
        return try (answer.array ?? []).map { try element(fromAnswer: $0, selector) }
    }

    /// The element a script returned (an object with the W3C element key), or nil when `value` is not one.
    public func element(from value: WebDriverJSON) -> WebElement? {
        value[WebDriverJSON.elementKey]?.string.map { WebElement(id: $0, session: self) }
    }

    private func element(fromAnswer value: WebDriverJSON, _ selector: String) throws -> WebElement {
        guard let element = element(from: value) else {
            throw WebDriverError(.invalidResponse, "no element reference for '\(selector)' in \(String(value.description.prefix(200)))")
        }
        return element
    }

    // MARK: Scripts

    /// Runs `script` as the body of a function (use `return`; `arguments[i]` are `args`) and returns its JSON-decoded result.
    /// A thrown exception becomes a "javascript error".
    public func execute(_ script: String, args: [WebDriverJSON] = []) async throws -> WebDriverJSON {
        try await command("POST", "/execute/sync", ["script": .string(script), "args": .array(args)])
    }

    /// Runs `script` and decodes its result as `T`.
    public func execute<T: Decodable>(_ script: String, args: [WebDriverJSON] = [], as type: T.Type) async throws -> T {
        try await decode(execute(script, args: args), as: type, script: script)
    }

    /// Runs an asynchronous `script`: it finishes by calling its last argument, `arguments[arguments.length - 1]`,
    /// with the result; chromedriver answers "script timeout" after `BrowserOptions.scriptTimeout`.
    public func executeAsync(_ script: String, args: [WebDriverJSON] = []) async throws -> WebDriverJSON {
        try await command("POST", "/execute/async", ["script": .string(script), "args": .array(args)])
    }

    /// Runs an asynchronous `script` and decodes its result as `T`.
    public func executeAsync<T: Decodable>(_ script: String, args: [WebDriverJSON] = [], as type: T.Type) async throws -> T {
        try await decode(executeAsync(script, args: args), as: type, script: script)
    }

    private func decode<T: Decodable>(_ value: WebDriverJSON, as type: T.Type, script: String) throws -> T {
        do {
            return try value.decode(as: type)
        } catch {
            throw WebDriverError(.invalidResponse, "the result \(String(value.description.prefix(200))) of script '\(script.prefix(80))' is not a \(T.self): \(error)")
        }
    }

    // MARK: Waiting

    /// Polls `condition` every `interval` until it returns true; throws `waitTimedOut` naming `description` after `timeout`.
    ///
    /// "no such element", "stale element reference" and "element not interactable" errors thrown by the condition
    /// count as "not yet" (the last one is quoted in the timeout error); any other error ends the wait at once.
    public func waitUntil(
        _ description: String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(50),
        _ condition: () async throws -> Bool
    ) async throws {
        _ = try await waitFor(description, timeout: timeout, interval: interval) { try await condition() ? true : nil }
    }

    /// Polls `probe` every `interval` until it returns a value and returns it; throws `waitTimedOut` naming
    /// `description`, the timeout and the number of polls after `timeout`. Errors are handled as in `waitUntil`.
    public func waitFor<T>(
        _ description: String, timeout: Duration = .seconds(60), interval: Duration = .milliseconds(50),
        _ probe: () async throws -> T?
    ) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var polls = 0
        var lastError: WebDriverError?
        while true {
            polls += 1
            do {
                if let value = try await probe() { return value }
                lastError = nil
            } catch let error as WebDriverError where [.noSuchElement, .staleElementReference, .elementNotInteractable].contains(error.code) {
                lastError = error
            }
            let elapsed = clock.now - start
            if elapsed >= timeout {
                let seconds = String(format: "%.2f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                var message = "timed out after \(seconds) s (timeout \(timeout), \(polls) polls) waiting for \(description)"
                if let lastError { message += "; last error: \(lastError.code): \(lastError.message)" }
                throw WebDriverError(.waitTimedOut, message)
            }
            try await Task.sleep(for: min(interval, timeout - elapsed))
        }
    }

    /// Waits until an element matches the CSS `selector` and returns the first one.
    public func waitForElement(_ selector: String, timeout: Duration = .seconds(60)) async throws -> WebElement {
        try await waitFor("an element matching '\(selector)'", timeout: timeout) { try await findElements(selector).first }
    }

    // MARK: Console log

    /// The browser console entries logged since the previous call (chromedriver hands each entry out once),
    /// through chromedriver's `POST /session/{id}/se/log` with type "browser".
    public func browserLog() async throws -> [BrowserLogEntry] {
        let answer = try await command("POST", "/se/log", ["type": "browser"])
        return (answer.array ?? []).map { entry in
            BrowserLogEntry(
                level: entry["level"]?.string ?? "", message: entry["message"]?.string ?? "",
                source: entry["source"]?.string ?? "", timestamp: entry["timestamp"]?.double ?? 0
            )
        }
    }

    /// The SEVERE entries among `browserLog()` (console.error, uncaught exceptions, failed loads); consumes the log like it.
    ///
    /// Chromium asks every page for `/favicon.ico`, and a 404 there is a SEVERE "network" entry: a page tested for
    /// a clean console needs a favicon or `<link rel="icon" href="data:,">`.
    public func consoleErrors() async throws -> [BrowserLogEntry] {
        try await browserLog().filter(\.isError)
    }

    // MARK: Window and screenshots

    /// Resizes the window so that the page's viewport (`innerWidth` × `innerHeight`) is `width` × `height` CSS pixels.
    ///
    /// Headless Chromium keeps room for its invisible toolbar: a 1400×1000 window has a 1400×857 viewport, so the
    /// window is grown by the measured difference.
    public func setViewport(width: Int, height: Int) async throws {
        var (w, h) = try await viewport()
        for _ in 0..<3 {
            if w == width && h == height { return }
            let window = try await command("GET", "/window/rect")
            guard let windowWidth = window["width"]?.int, let windowHeight = window["height"]?.int else {
                throw WebDriverError(.invalidResponse, "window rect without width/height: \(window)")
            }
            let rect: WebDriverJSON = ["width": .number(Double(windowWidth + width - w)), "height": .number(Double(windowHeight + height - h))]
            _ = try await command("POST", "/window/rect", rect)
            (w, h) = try await viewport()
        }
        throw WebDriverError(.unknownError, "viewport stays \(w)x\(h) instead of \(width)x\(height) after 3 window resizes")
    }

    /// The page's `innerWidth` and `innerHeight`.
    public func viewport() async throws -> (width: Int, height: Int) {
        let inner = try await execute("return [window.innerWidth, window.innerHeight]")
        guard let w = inner[0]?.int, let h = inner[1]?.int else {
            throw WebDriverError(.invalidResponse, "window.innerWidth/innerHeight are not numbers: \(inner)")
        }
        return (w, h)
    }

    /// A PNG screenshot of the viewport.
    public func screenshot() async throws -> Data {
        let answer = try await command("GET", "/screenshot")
        guard let text = answer.string, let data = Data(base64Encoded: text) else {
            throw WebDriverError(.invalidResponse, "screenshot is not base64 text (\(answer.description.count) characters)", command: "GET /session/\(id)/screenshot")
        }
        return data
    }

    /// Saves a PNG screenshot to `url` (parent directories created) and returns `url`.
    @discardableResult
    public func saveScreenshot(to url: URL) async throws -> URL {
        try BrowserArtifacts.write(try await screenshot(), to: url)
        return url
    }

    /// Saves a PNG screenshot as `<name>.png` in `BrowserArtifacts.directory` and returns its location.
    @discardableResult
    public func saveScreenshot(named name: String) async throws -> URL {
        try await saveScreenshot(to: BrowserArtifacts.url(for: name.hasSuffix(".png") ? name : name + ".png"))
    }

    // MARK: End

    /// Ends the session: chromedriver closes the browser. The driver keeps running (`ChromeDriver.stop()` ends it).
    public func delete() async throws { _ = try await command("DELETE", "") }
}

/// A DOM element found in a session. Its commands throw "stale element reference" once the element left the document.
public struct WebElement: Sendable, CustomStringConvertible {
    /// chromedriver's element id.
    public let id: String
    /// The session the element belongs to.
    public let session: WebDriverSession

    public var description: String { "WebElement(\(id))" }

    /// The element as a script argument (`arguments[i]` in the page is the DOM element).
    public var scriptArgument: WebDriverJSON { [WebDriverJSON.elementKey: .string(id)] }

    private func command(_ method: String, _ path: String, _ body: WebDriverJSON? = nil) async throws -> WebDriverJSON {
        try await session.command(method, "/element/\(id)\(path)", body)
    }

    /// The rendered text (as `innerText`: hidden parts left out, whitespace collapsed).
    public func text() async throws -> String { try await command("GET", "/text").string ?? "" }
    /// The tag name, lower case.
    public func tagName() async throws -> String { try await command("GET", "/name").string ?? "" }
    /// Scrolls the element into view and clicks its centre; throws "element click intercepted" when something covers it.
    public func click() async throws { _ = try await command("POST", "/click") }
    /// Focuses the element and types `text` (see `WebKey` for special keys).
    public func sendKeys(_ text: String) async throws { _ = try await command("POST", "/value", ["text": .string(text)]) }
    /// Empties an input or textarea (or a content-editable element).
    public func clear() async throws { _ = try await command("POST", "/clear") }
    /// The HTML attribute `name` as written in the document (nil when absent).
    public func attribute(_ name: String) async throws -> String? { try await command("GET", "/attribute/\(name)").string }
    /// The DOM property `name` (e.g. "value", "checked"), JSON-decoded.
    public func property(_ name: String) async throws -> WebDriverJSON { try await command("GET", "/property/\(name)") }
    /// The computed CSS value of `property`.
    public func cssValue(_ property: String) async throws -> String { try await command("GET", "/css/\(property)").string ?? "" }
    /// Whether the element is rendered visibly.
    public func isDisplayed() async throws -> Bool { try await command("GET", "/displayed").bool ?? false }
    /// Whether the element is enabled (form controls).
    public func isEnabled() async throws -> Bool { try await command("GET", "/enabled").bool ?? false }
    /// The first descendant matching the CSS `selector`.
    public func findElement(_ selector: String) async throws -> WebElement {
        let answer = try await command("POST", "/element", ["using": "css selector", "value": .string(selector)])
        guard let element = session.element(from: answer) else {
            throw WebDriverError(.invalidResponse, "no element reference for '\(selector)' in \(String(answer.description.prefix(200)))")
        }
        return element
    }
    /// Every descendant matching the CSS `selector`.
    public func findElements(_ selector: String) async throws -> [WebElement] {
        let answer = try await command("POST", "/elements", ["using": "css selector", "value": .string(selector)])
        return (answer.array ?? []).compactMap { session.element(from: $0) }
    }
}

/// Starts chromedriver and a headless Chromium session, runs `body`, and always ends both: the session is deleted and
/// chromedriver's process group killed, also when `body` throws. When `body` throws, a screenshot is first saved as
/// `<failureScreenshot>-failure.png` in `BrowserArtifacts.directory` (the calling function's name by default).
public func withBrowser<T>(
    _ options: BrowserOptions = BrowserOptions(), paths: BrowserPaths? = nil, failureScreenshot: String = #function,
    _ body: (WebDriverSession) async throws -> T
) async throws -> T {
    let driver = try await ChromeDriver.start(paths: paths)
    defer { driver.stop() }
    let session = try await driver.newSession(options)
    let result: T
    do {
        result = try await body(session)
    } catch {
        _ = try? await session.saveScreenshot(named: failureScreenshot.replacingOccurrences(of: "()", with: "") + "-failure")
        try? await session.delete()
        throw error
    }
    try await session.delete()
    return result
}
