/// A failed WebDriver command or a failure of the client around it (finding, starting or reaching chromedriver, a wait).
///
/// `code` is the W3C error code when chromedriver answered with an error ("no such element", "javascript error", …),
/// or one of the client's own codes (`browserNotFound`, `driverStartFailed`, `connectionFailed`, `invalidResponse`,
/// `waitTimedOut`, `artifactWriteFailed`). `command` and `httpStatus` say which request failed and how, when there was one.
public struct WebDriverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A W3C WebDriver error code (https://www.w3.org/TR/webdriver2/#errors) or a client-side code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }

        // W3C codes chromedriver answers with.
        public static let noSuchElement: Code = "no such element"
        public static let staleElementReference: Code = "stale element reference"
        public static let elementNotInteractable: Code = "element not interactable"
        public static let elementClickIntercepted: Code = "element click intercepted"
        public static let invalidSelector: Code = "invalid selector"
        public static let invalidArgument: Code = "invalid argument"
        public static let javascriptError: Code = "javascript error"
        public static let scriptTimeout: Code = "script timeout"
        public static let timeout: Code = "timeout"
        public static let noSuchWindow: Code = "no such window"
        public static let invalidSessionID: Code = "invalid session id"
        public static let sessionNotCreated: Code = "session not created"
        public static let unknownCommand: Code = "unknown command"
        public static let unknownError: Code = "unknown error"
        public static let unexpectedAlertOpen: Code = "unexpected alert open"

        // The client's own codes (never sent by a driver).
        /// Chromium or chromedriver could not be found or is not executable.
        public static let browserNotFound: Code = "browser not found"
        /// chromedriver could not be spawned, exited early or never reported ready.
        public static let driverStartFailed: Code = "driver start failed"
        /// The HTTP exchange with chromedriver failed (refused, reset, no answer in time).
        public static let connectionFailed: Code = "connection failed"
        /// chromedriver answered with something that is not a WebDriver response.
        public static let invalidResponse: Code = "invalid response"
        /// A `waitUntil`/`waitFor` condition did not hold before its timeout.
        public static let waitTimedOut: Code = "wait timed out"
        /// A screenshot or other artefact could not be written.
        public static let artifactWriteFailed: Code = "artifact write failed"
    }

    /// The W3C error code, or the client's code.
    public let code: Code
    /// What went wrong, as chromedriver or the client said it (chromedriver's stack trace is dropped).
    public let message: String
    /// The request that failed, such as `POST /session/4f…/element`; nil when no request was involved.
    public let command: String?
    /// The HTTP status of chromedriver's answer, when there was one.
    public let httpStatus: Int?

    public init(_ code: Code, _ message: String, command: String? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.command = command
        self.httpStatus = httpStatus
    }

    public var description: String {
        var s = "WebDriver error '\(code)'"
        if let command { s += " from \(command)" }
        if let httpStatus { s += " (HTTP \(httpStatus))" }
        return s + ": " + message
    }
}
