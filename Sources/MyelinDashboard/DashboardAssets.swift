/// The pages of the dashboard and the playground, compiled into the binary (SwiftPM's
/// `embedInCode` resources of `Assets/`): nothing is fetched at run time, nothing from a CDN.
enum DashboardAssets {
    static var index: [UInt8] { PackageResources.index_html }
    static var playground: [UInt8] { PackageResources.playground_html }

    /// An asset under `/assets/` and its content type.
    static func named(_ name: String) -> ([UInt8], String)? {
        switch name {
        case "dashboard.js": return (PackageResources.dashboard_js, "text/javascript; charset=utf-8")
        case "dashboard.css": return (PackageResources.dashboard_css, "text/css; charset=utf-8")
        case "playground.js": return (PackageResources.playground_js, "text/javascript; charset=utf-8")
        default: return nil
        }
    }
}
