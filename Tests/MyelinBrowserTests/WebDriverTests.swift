import Foundation
import Testing
import MyelinWebDriver
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The browser tests' site: a page with text, a button, an input and a timer; a page that logs errors; a clean page.
private func makeServer() throws -> PageServer {
    let index = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Myelin browser test</title><link rel="icon" href="data:,"></head>
        <body>
        <h1 id="title">Hello, Myelin</h1>
        <p id="status">idle</p>
        <button id="go">Go</button>
        <input id="name" data-role="name-field">
        <ul id="list"><li>alpha</li><li>beta</li><li>gamma</li></ul>
        <p id="later">waiting</p>
        <script>
        let clicks = 0;
        document.getElementById('go').addEventListener('click', () => {
            clicks += 1;
            document.getElementById('status').textContent = 'clicked ' + clicks;
        });
        // Arms a timer: after ms, #later says "ready" and a #late element appears.
        window.arm = (ms) => setTimeout(() => {
            document.getElementById('later').textContent = 'ready';
            const p = document.createElement('p');
            p.id = 'late';
            p.textContent = 'I came late';
            document.body.appendChild(p);
        }, ms);
        </script>
        </body></html>
        """
    let noisy = """
        <!doctype html><html><head><title>noisy</title><link rel="icon" href="data:,"></head><body><p>noisy</p>
        <script>
        console.log('just some info');
        console.error('boom from the page', 42);
        setTimeout(() => { throw new Error('uncaught in a timer'); }, 0);
        </script></body></html>
        """
    let clean = """
        <!doctype html><html><head><title>clean</title><link rel="icon" href="data:,"></head><body><p>clean</p>
        <script>console.log('all is well');</script></body></html>
        """
    return try PageServer(pages: ["/": .init(body: index), "/noisy": .init(body: noisy), "/clean": .init(body: clean)])
}

/// Whether process `pid` is gone (absent, or a zombie nobody reaped yet).
private func isGone(_ pid: Int32) -> Bool {
    #if os(Linux)
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    guard let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
    #else
    return kill(pid, 0) != 0 && errno == ESRCH
    #endif
}

/// Waits up to 3 s for `pid` to be gone.
private func becomesGone(_ pid: Int32) async throws -> Bool {
    for _ in 0..<60 {
        if isGone(pid) { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return isGone(pid)
}

/// A decoded script result.
private struct Summary: Decodable, Equatable {
    let name: String
    let sizes: [Int]
    let ok: Bool
}

private struct Planned: Error {}

@Suite(.serialized, .enabled(if: BrowserAvailability.isAvailable, "needs chromium and chromedriver (scripts/install-deps.sh, or MYELIN_CHROMIUM/MYELIN_CHROMEDRIVER)"))
struct WebDriverTests {
    @Test func textOfElementsAndNavigation() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            #expect(try await browser.title() == "Myelin browser test")
            #expect(try await browser.currentURL() == server.url("/"))
            #expect(try await browser.findElement("#title").text() == "Hello, Myelin")
            #expect(try await browser.findElement("h1").tagName() == "h1")
            let items = try await browser.findElements("#list li")
            var texts: [String] = []
            for item in items { texts.append(try await item.text()) }
            #expect(texts == ["alpha", "beta", "gamma"])
            #expect(try await browser.findElement("#list").findElements("li").count == 3)
            #expect(try await browser.findElements(".nothing-here").isEmpty)
            let error = await #expect(throws: WebDriverError.self) { try await browser.findElement("#missing") }
            #expect(error?.code == .noSuchElement)
            #expect(error?.httpStatus == 404)
            #expect(error?.command?.hasSuffix("/element") == true)
            #expect(error?.message.contains("#missing") == true)
        }
    }

    @Test func clickTypeAndReadBack() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            let button = try await browser.findElement("#go")
            let status = try await browser.findElement("#status")
            #expect(try await status.text() == "idle")
            try await button.click()
            #expect(try await status.text() == "clicked 1")
            try await button.click()
            #expect(try await status.text() == "clicked 2")

            let input = try await browser.findElement("#name")
            #expect(try await input.attribute("data-role") == "name-field")
            #expect(try await input.attribute("no-such-attribute") == nil)
            try await input.sendKeys("Myelin 42")
            #expect(try await input.property("value") == "Myelin 42")
            try await input.sendKeys(WebKey.backspace + "3")
            #expect(try await input.property("value") == "Myelin 43")
            try await input.clear()
            #expect(try await input.property("value") == "")
            #expect(try await input.isDisplayed())
        }
    }

    @Test func scriptsReturnDecodedJSON() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            #expect(try await browser.execute("return 6 * 7") == .number(42))
            #expect(try await browser.execute("return 0.1 + 0.2").double == 0.1 + 0.2)
            #expect(try await browser.execute("return [1, 2.5, 'three', true, null]") == [1, 2.5, "three", true, .null])
            #expect(try await browser.execute("return {a: 1, b: 'x', c: [true, null]}") == ["a": 1, "b": "x", "c": [true, .null]])
            #expect(try await browser.execute("return undefined") == .null)
            #expect(try await browser.execute("return arguments[0] + arguments[1].length", args: [40, ["p", "q"]]) == 42)
            let summary = try await browser.execute(
                "return {name: document.title, sizes: [innerWidth, innerHeight], ok: true}", as: Summary.self)
            #expect(summary == Summary(name: "Myelin browser test", sizes: [1400, 1000], ok: true))
            #expect(try await browser.execute("return [1, 2, 3].map(x => x * x)", as: [Int].self) == [1, 4, 9])

            let title = try await browser.findElement("#title")
            #expect(try await browser.execute("return arguments[0].id", args: [title.scriptArgument]) == "title")
            let returned = try await browser.execute("return document.querySelector('#status')")
            #expect(try await browser.element(from: returned)?.text() == "idle")

            let slow = try await browser.executeAsync(
                "const done = arguments[arguments.length - 1]; setTimeout(() => done({waited: arguments[0]}), 100);", args: [100])
            #expect(slow == ["waited": 100])
            #expect(try await browser.executeAsync("arguments[0]([7, 8])", as: [Double].self) == [7, 8])

            let thrown = await #expect(throws: WebDriverError.self) { try await browser.execute("throw new Error('no luck here')") }
            #expect(thrown?.code == .javascriptError)
            #expect(thrown?.message.contains("no luck here") == true)
        }
    }

    @Test func waitsForValuesATimerSets() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            let later = try await browser.findElement("#later")
            #expect(try await later.text() == "waiting")
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await browser.execute("arm(300)")
            try await browser.waitUntil("#later to say ready", timeout: .seconds(60)) { try await later.text() == "ready" }
            #expect(clock.now - start >= .milliseconds(250))
            let late = try await browser.waitForElement("#late", timeout: .seconds(60))
            #expect(try await late.text() == "I came late")
            let count = try await browser.waitFor("three list items") { () async throws -> Int? in
                let n = try await browser.findElements("#list li").count
                return n == 3 ? n : nil
            }
            #expect(count == 3)

            let timedOut = await #expect(throws: WebDriverError.self) {
                try await browser.waitUntil("a #never element to be shown", timeout: .milliseconds(300)) {
                    try await browser.findElement("#never").isDisplayed()
                }
            }
            #expect(timedOut?.code == .waitTimedOut)
            #expect(timedOut?.message.contains("a #never element to be shown") == true)
            #expect(timedOut?.message.contains("no such element") == true)
        }
    }

    @Test func consoleErrorsAppearInTheLog() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/clean"))
            #expect(try await browser.findElement("p").text() == "clean")
            let cleanLog = try await browser.browserLog()
            #expect(cleanLog.contains { $0.level == "INFO" && $0.message.contains("all is well") })
            #expect(cleanLog.filter(\.isError).isEmpty, "errors on the clean page: \(cleanLog)")

            try await browser.navigate(to: server.url("/noisy"))
            var entries: [BrowserLogEntry] = []
            try await browser.waitUntil("the uncaught error in the log", timeout: .seconds(60)) {
                entries += try await browser.browserLog()
                return entries.contains { $0.message.contains("uncaught in a timer") }
            }
            let errors = entries.filter(\.isError)
            #expect(errors.contains { $0.source == "console-api" && $0.message.contains("boom from the page") && $0.message.contains("42") })
            #expect(errors.contains { $0.source == "javascript" && $0.message.contains("uncaught in a timer") })
            #expect(entries.contains { !$0.isError && $0.message.contains("just some info") })
            #expect(try await browser.consoleErrors().isEmpty, "the log hands each entry out once")
        }
        #expect(!server.requestedPaths.contains("/favicon.ico"))
    }

    @Test func screenshotIsAPNGOfTheViewport() async throws {
        let server = try makeServer()
        defer { server.stop() }
        try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            let url = try await browser.saveScreenshot(named: "webdriver-tests-index")
            #expect(url.path.hasPrefix(BrowserArtifacts.directory.path))
            let png = try Data(contentsOf: url)
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            #expect(png.count > 2000)
            // IHDR: width and height, big-endian, at bytes 16..<24.
            let width = png.count >= 24 ? png[16..<20].reduce(0) { $0 << 8 | Int($1) } : 0
            let height = png.count >= 24 ? png[20..<24].reduce(0) { $0 << 8 | Int($1) } : 0
            #expect(width == 1400 && height == 1000)
        }
    }

    @Test func driverAndBrowserAreGoneAfterwardsEvenOnFailure() async throws {
        let server = try makeServer()
        defer { server.stop() }
        let (driverPID, browserPID, port) = try await withBrowser { browser in
            try await browser.navigate(to: server.url("/"))
            return (browser.driver.processID, Int32(browser.capabilities["goog:processID"]?.int ?? 0), browser.driver.port)
        }
        #expect(browserPID > 0)
        #expect(try await becomesGone(driverPID))
        #expect(try await becomesGone(browserPID))
        #expect(!PageServer.acceptsConnections(port: port))

        var failingDriver: Int32 = 0
        var failingBrowser: Int32 = 0
        await #expect(throws: Planned.self) {
            try await withBrowser(failureScreenshot: "webdriver-tests-planned") { browser in
                failingDriver = browser.driver.processID
                failingBrowser = Int32(browser.capabilities["goog:processID"]?.int ?? 0)
                throw Planned()
            }
        }
        #expect(failingDriver > 0 && failingBrowser > 0)
        #expect(try await becomesGone(failingDriver))
        #expect(try await becomesGone(failingBrowser))
        #expect(FileManager.default.fileExists(atPath: BrowserArtifacts.url(for: "webdriver-tests-planned-failure.png").path))
    }
}
