"""Hand-written seeds of the fuzz targets whose inputs the repository holds no files of."""

SEEDS = {
    "http-request": [
        "GET /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n",
        "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n"
        '{"jsonrpc":"2.0","id":1,"method":"ping"}',
        "POST /token HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
        "\r\nHEAD / HTTP/1.0\r\nX:\t v \r\n\r\nGET http://b/c?d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a:8080\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\r\n",
        "POST /mcp HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\nContent-Length: 2, 2\r\n\r\nhi"
        "DELETE /mcp HTTP/1.1\r\nHost: a\r\nMcp-Session-Id: s\r\n\r\n",
    ],
    "http-response": [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
        '{"jsonrpc":"2.0","id":1,"result":{}}',
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1c;x=y\r\nevent: message\r\ndata: {}\r\n\r\n\r\n0\r\nT: v\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 202 Accepted\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nuntil the connection ends",
        "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\nX-A:\t v \r\n\r\n",
    ],
    "authorization": [
        "Bearer abc.def.ghi",
        "bearer   eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "Basic YWxpY2U6c2VjcmV0",
        "Basic Y2xpZW50JTNBaWQ6cCU0MHNz",
        "Basic",
    ],
    "form": [
        "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcb&code_verifier=x&client_id=c",
        "grant_type=refresh_token&refresh_token=r&scope=notes%3Aread+notes%3Awrite&resource=https%3A%2F%2Fmcp.example%2Fmcp",
        "response_type=code&client_id=https%3A%2F%2Fclient.example%2Fm.json&code_challenge=abc&code_challenge_method=S256&state=%E2%9C%93",
        "token=t&token_type_hint=refresh_token&client_id=c&client_secret=s&authorization=Basic+YTpi",
        "a=&=b&&c",
    ],
    "client-registration": [
        '{"redirect_uris":["http://127.0.0.1:3000/callback"],"client_name":"Claude","token_endpoint_auth_method":"none",'
        '"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"scope":"openid offline_access"}',
        '{"redirect_uris":["com.example.app:/cb"],"application_type":"native","token_endpoint_auth_method":"client_secret_basic"}',
        '{"redirect_uris":["https://app.example/cb#frag","javascript:alert(1)"],"client_uri":"https://app.example"}',
    ],
    "client-metadata": [
        '{"client_id":"https://client.example/metadata.json","client_name":"Example","redirect_uris":["http://localhost/callback"],'
        '"grant_types":["authorization_code"],"response_types":["code"],"token_endpoint_auth_method":"none"}',
        '{"client_id":"https://client.example/metadata.json","redirect_uris":["http://127.0.0.1:33418/"],"logo_uri":"https://client.example/l.png"}',
    ],
    "redirect-uri": [
        "http://127.0.0.1:3000/callback",
        "http://[::1]/cb",
        "https://app.example/cb?x=1",
        "com.example.app:/oauth2redirect",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
        "https://*.example/cb",
        "data:text/html,x",
    ],
}
