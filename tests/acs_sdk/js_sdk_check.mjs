// Interop check: the official JS SDK (@azure/communication-identity, Node 20+) against the
// acs-auth ACS emulator.
//
// Environment:
//   ACS_CONNECTION_STRING  the emulator's HTTPS connection string (the SDK refuses http://
//                          unless the client sets allowInsecureConnection)
//   NODE_EXTRA_CA_CERTS    the emulator's cert.pem (read by Node at start-up)
// Exits 0 when every check passes; prints what failed otherwise.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CommunicationIdentityClient } from "@azure/communication-identity";

const conn = process.env.ACS_CONNECTION_STRING ?? "";
if (!conn.toLowerCase().startsWith("endpoint=https://") || !process.env.NODE_EXTRA_CA_CERTS) {
  console.error("set ACS_CONNECTION_STRING (https) and NODE_EXTRA_CA_CERTS");
  process.exit(2);
}

const claims = (token) =>
  JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

function checkToken(t, userId, scopes, minutes) {
  assert.equal(t.token.split(".").length, 3, "token is not a JWT");
  const left = t.expiresOn.getTime() - Date.now();
  assert.ok(
    left > (minutes - 1) * 60_000 && left <= minutes * 60_000,
    `expiresOn ${t.expiresOn.toISOString()} is not ~${minutes} min from now`,
  );
  const c = claims(t.token);
  assert.equal(`8:${c.skypeid}`, userId);
  assert.deepEqual(c.acsScope.split(",").sort(), [...scopes].sort());
}

function fakeTeamsToken(appId, oid) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const payload = {
    aud: "https://auth.msft.communication.azure.com",
    scp: "Teams.ManageCalls Teams.ManageChats",
    azp: appId,
    oid,
    exp: Math.floor(Date.now() / 1000) + 1800,
  };
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}.c2ln`;
}

async function expectNotFound(promise, what) {
  await assert.rejects(
    promise,
    (e) => {
      assert.equal(e.statusCode, 404, `${what}: expected 404, got ${e.statusCode}`);
      assert.equal(e.code, "IdentityNotFound", `${what}: code ${e.code}`);
      return true;
    },
    `${what} on a deleted user did not throw`,
  );
}

const client = new CommunicationIdentityClient(conn);

const user = await client.createUser();
assert.match(user.communicationUserId, /^8:acs:/);
console.log("createUser", user.communicationUserId);

const { user: user2, ...token2 } = await client.createUserAndToken(["chat", "voip"], {
  tokenExpiresInMinutes: 60,
});
checkToken(token2, user2.communicationUserId, ["chat", "voip"], 60);
console.log("createUserAndToken");

checkToken(await client.getToken(user, ["chat"]), user.communicationUserId, ["chat"], 1440);
checkToken(
  await client.getToken(user, ["voip", "chat.join"], { tokenExpiresInMinutes: 90 }),
  user.communicationUserId,
  ["voip", "chat.join"],
  90,
);
console.log("getToken");

await client.revokeTokens(user);
console.log("revokeTokens");

const appId = randomUUID();
const oid = randomUUID();
const teams = await client.getTokenForTeamsUser({
  teamsUserAadToken: fakeTeamsToken(appId, oid),
  clientId: appId,
  userObjectId: oid,
});
assert.equal(claims(teams.token).skypeid, `orgid:${oid}`);
console.log("getTokenForTeamsUser");

// Bad input is reported like the service does.
await assert.rejects(client.getToken(user, ["chat"], { tokenExpiresInMinutes: 10 }), (e) => {
  assert.equal(e.statusCode, 400);
  assert.equal(e.code, "InvalidArgument");
  return true;
});
console.log("getToken with expiresInMinutes=10 throws 400 InvalidArgument");

await client.deleteUser(user);
await client.deleteUser(user2);
console.log("deleteUser");
await expectNotFound(client.getToken(user, ["chat"]), "getToken");
await expectNotFound(client.revokeTokens(user2), "revokeTokens");
console.log("getToken on a deleted user throws 404 IdentityNotFound");

console.log("JS SDK: all checks passed");
