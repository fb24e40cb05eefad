import EdgeAuth
import EdgeAuthOAuth
import NIOCore
import NIOHTTP1

/// The pages of a login: the development identity provider's user list, the consent page
/// (A6) and the error page (A5). Every value is escaped; forms post back to this server only.
enum AuthorizationPages {
    static func reply(to step: AuthorizationStep, server: AuthorizationServer) -> HTTPReply {
        switch step {
        case .errorPage(let message):
            return error(message, server: server)
        case .redirect(let location):
            do {
                return try HTTPReply.redirect(to: location, status: .seeOther)
            } catch {
                return self.error("The client's redirect URI cannot be followed.", server: server)
            }
        case .login(let prompt):
            return login(prompt, server: server)
        case .consent(let prompt):
            return consent(prompt, server: server)
        }
    }

    static func error(_ message: String, server: AuthorizationServer) -> HTTPReply {
        page(.badRequest, title: "Sign-in failed", server: server, body: "<p class=\"error\">\(HTML.escape(message))</p>")
    }

    static func login(_ prompt: LoginPrompt, server: AuthorizationServer) -> HTTPReply {
        var buttons = ""
        for user in prompt.users {
            let details = (user.roles.map { "role " + $0 } + user.scopes).joined(separator: ", ")
            buttons += "<button type=\"submit\" name=\"user\" value=\"\(HTML.escape(user.name))\">\(HTML.escape(user.name))"
                + "<small>\(HTML.escape(details))</small></button>\n"
        }
        let body = """
        <p>\(clientLine(prompt.client)) wants to sign you in.</p>
        <form method="post" action="\(HTML.escape(server.endpointPaths.login))">
        <input type="hidden" name="pending" value="\(HTML.escape(prompt.pendingID))">
        \(buttons)</form>
        """
        return page(.ok, title: "Sign in", server: server, body: body, redirectURI: prompt.client.redirectURI)
    }

    static func consent(_ prompt: ConsentPrompt, server: AuthorizationServer) -> HTTPReply {
        let scopes = prompt.scopes.isEmpty ? "<li>sign you in (no other access)</li>" : prompt.scopes.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined()
        let unavailable = prompt.unavailableScopes.isEmpty ? ""
            : "<p>Not available to \(HTML.escape(prompt.user)): \(prompt.unavailableScopes.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: " "))</p>"
        let body = """
        <p>Signed in as <strong>\(HTML.escape(prompt.user))</strong>.</p>
        <p>\(clientLine(prompt.client)) asks for access to:</p>
        <ul>\(scopes)</ul>
        \(unavailable)
        <p>It will be sent back to <code>\(HTML.escape(prompt.client.redirectURI))</code>.</p>
        <form method="post" action="\(HTML.escape(server.endpointPaths.consent))">
        <input type="hidden" name="pending" value="\(HTML.escape(prompt.pendingID))">
        <input type="hidden" name="consent_token" value="\(HTML.escape(prompt.consentToken))">
        <button type="submit" name="decision" value="approve">Allow</button>
        <button type="submit" name="decision" value="deny">Deny</button>
        </form>
        """
        return page(.ok, title: "Allow access?", server: server, body: body, redirectURI: prompt.client.redirectURI)
    }

    private static func clientLine(_ client: ClientDescription) -> String {
        let name = "<strong>\(HTML.escape(client.name ?? client.clientID))</strong>"
        guard let host = client.documentHost else { return name }
        return name + " (verified host <code>\(HTML.escape(host))</code>)"
    }

    /// - Parameter redirectURI: where the page's form may end (its answer redirects to the client).
    private static func page(_ status: HTTPResponseStatus, title: String, server: AuthorizationServer, body: String, redirectURI: String? = nil) -> HTTPReply {
        let nonce = Base64URL.encode((0..<12).map { _ in UInt8.random(in: .min ... .max) })
        let document = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title)) · EdgeAuth</title>
        <style nonce="\(nonce)">
        body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
        .banner{background:#fde68a;border:1px solid #d97706;padding:.5rem .75rem;border-radius:.4rem;font-size:.9rem}
        button{display:block;width:100%;margin:.5rem 0;padding:.7rem;font-size:1rem;text-align:left;border-radius:.4rem;border:1px solid #999;background:#f8f8f8;cursor:pointer}
        button small{display:block;color:#555;font-size:.8rem}
        .error{color:#b91c1c}
        </style></head><body>
        <p class="banner">EdgeAuth development identity provider: for development only. Anyone who reaches this page can sign in as any listed user.</p>
        <h1>\(HTML.escape(title))</h1>
        \(body)
        </body></html>
        """
        return .html(status, document, styleNonce: nonce, formRedirects: redirectURI.flatMap(HTTPReply.formRedirectSource).map { [$0] } ?? [])
    }
}
