"""HTTP/1.1 over a plain socket, for requests `requests` cannot make reliably: a
body the server may refuse before reading it all (413), hand-made chunking."""

import http.client
import socket


class RawResponse:
    def __init__(self, status, headers, body, send_error):
        self.status_code = status
        self.headers = headers
        self.body = body
        self.send_error = send_error  # the error that stopped the upload, if any

    def json(self):
        import json
        return json.loads(self.body)


def request(port, method, path, headers=None, body=b"", chunked=False, chunk_size=64 * 1024,
            timeout=15):
    """Send a request, tolerating the server closing while the body is still
    being sent; then read the response the server wrote."""
    hdrs = {"Host": f"127.0.0.1:{port}", "Connection": "close"}
    hdrs.update(headers or {})
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
    elif body or method in ("POST", "PUT", "PATCH"):
        hdrs.setdefault("Content-Length", str(len(body)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    send_error = None
    try:
        try:
            sock.sendall(head.encode() + b"\r\n")
            for i in range(0, len(body), chunk_size):
                piece = body[i:i + chunk_size]
                if chunked:
                    sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    sock.sendall(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError) as e:
            send_error = e
        resp = http.client.HTTPResponse(sock, method=method)
        try:
            resp.begin()
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            raise AssertionError(f"no response to {method} {path} (upload stopped by "
                                 f"{send_error!r}; reading: {e!r})")
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                           send_error)
    finally:
        sock.close()
