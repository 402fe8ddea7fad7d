import Hummingbird

/// An RFC 9457 `application/problem+json` response: how every Twinfleet HTTP endpoint refuses.
public enum ProblemResponse {
    /// A problem with `status` and a `detail` for people (quoted as JSON here).
    public static func make(_ status: HTTPResponse.Status, _ detail: String) -> Response {
        var quoted = ""
        JSONLogHandler.appendQuoted(detail, to: &quoted)
        let body = "{\"type\":\"about:blank\",\"title\":\"\(status.reasonPhrase)\",\"status\":\(status.code),\"detail\":\(quoted)}"
        return Response(status: status, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: .init(string: body)))
    }
}
