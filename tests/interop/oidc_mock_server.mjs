// A third-party OpenID Connect server for the interop tests (tests/api/oidc_interop.rs):
// oauth2-mock-server on 127.0.0.1, an OS-chosen port, one RS256 signing key.
//
// Protocol (one JSON object per line on stdout):
// - once listening it prints
//     {"issuer": "...", "tokenEndpoint": "...", "jwksUri": "...", "kid": "..."}
//   where `issuer` is exactly what the server writes in `iss` and in its discovery document;
// - access tokens come from its real token endpoint: POST `tokenEndpoint` with the form
//   `grant_type=client_credentials&aud=<audience>&sub=<subject>` (oauth2-mock-server copies
//   `aud` itself; the `beforeTokenSigning` hook below copies `sub`);
// - the line `rotate` on stdin replaces the signing key: a new RS256 key with a new `kid` signs
//   from then on, and the old key is neither used nor published in the JWKS any more. Answer:
//     {"rotated": true, "oldKid": "...", "kid": "..."}
// It exits when stdin closes (the test dropped it) and on SIGTERM / SIGINT.

import { createInterface } from "node:readline";
import { JWKStore, OAuth2Server } from "oauth2-mock-server";

const ALG = "RS256";

function reply(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const server = new OAuth2Server();

// The token endpoint has no field for the subject of a client_credentials token: take it from
// the request's `sub` form field.
server.service.on("beforeTokenSigning", (token, req) => {
  const sub = req.body?.sub;
  if (typeof sub === "string" && sub !== "") {
    token.payload.sub = sub;
  }
});

let current = await server.issuer.keys.generate(ALG);

// oauth2-mock-server's key store can add keys but not remove them (and it signs round-robin
// over all of them), so a rotation swaps in a fresh store holding only the new key. `keys` is
// a getter of OAuth2Issuer read by both token signing and the /jwks handler.
async function rotate() {
  const store = new JWKStore();
  const next = await store.generate(ALG);
  Object.defineProperty(server.issuer, "keys", {
    value: store,
    configurable: true,
  });
  const oldKid = current.kid;
  current = next;
  return { rotated: true, oldKid, kid: next.kid };
}

await server.start(0, "127.0.0.1");
const issuer = server.issuer.url;
const base = issuer.replace(/\/$/, "");
reply({
  issuer,
  tokenEndpoint: `${base}/token`,
  jwksUri: `${base}/jwks`,
  kid: current.kid,
});

function shutdown() {
  // No graceful close: keep-alive connections would hold it open, and nothing needs flushing.
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const command = line.trim();
  if (command === "") {
    return;
  }
  try {
    if (command === "rotate") {
      reply(await rotate());
    } else {
      reply({ error: `unknown command ${JSON.stringify(command)}` });
    }
  } catch (e) {
    reply({ error: String(e?.stack ?? e) });
  }
});
lines.on("close", shutdown);
