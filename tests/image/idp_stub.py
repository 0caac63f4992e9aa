"""A minimal OpenID provider for scripts/image: its issuer is http://localhost:PORT (a host
name, which the binary in the image must resolve), with a discovery document and a key set.
Logs each request line to stderr."""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port = int(sys.argv[1])
issuer = f"http://localhost:{port}"
discovery = {
    "issuer": issuer,
    "authorization_endpoint": f"{issuer}/authorize",
    "token_endpoint": f"{issuer}/token",
    "jwks_uri": f"{issuer}/keys",
    "response_types_supported": ["code"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
}
# A 2048-bit RSA public key (the check counts usable signing keys; nothing is verified).
jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "stub", "e": "AQAB",
                  "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"}]}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/.well-known/openid-configuration": discovery, "/keys": jwks}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.requestline}\n")
        sys.stderr.flush()


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
