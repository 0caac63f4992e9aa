// Smoke test of the generated TypeScript client against a running acs-auth (`acs-auth dev`):
// getToken 201 then 200, getUser, deleteUser 204, and one error decoded as a typed Problem.
// Usage: ACS_AUTH_URL=http://127.0.0.1:8080 ACS_AUTH_TOKEN=<dev token> node dist/smoke.js
import createClient from "openapi-fetch";

import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];
type ProblemCode = components["schemas"]["ProblemCode"];

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function check(condition: boolean, message: string): void {
  if (!condition) {
    throw new Error(message);
  }
}

const client = createClient<paths>({
  baseUrl: env("ACS_AUTH_URL"),
  headers: { Authorization: `Bearer ${env("ACS_AUTH_TOKEN")}` },
});
const tenant = { path: { tenant: process.env["ACS_AUTH_TENANT"] ?? "dev" } };

const first = await client.POST("/tenants/{tenant}/getToken", {
  params: tenant,
  body: { scopes: ["chat", "voip"], expiresInMinutes: 60 },
});
check(first.response.status === 201, `first getToken: ${first.response.status}`);
check(first.data !== undefined, "first getToken has a body");
const userId: string = first.data?.user.communicationUserId ?? "";
check(userId.startsWith("8:acs:"), `an ACS identity: ${userId}`);
const expiresOn: string = first.data?.expiresOn ?? "";
check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(expiresOn), `expiresOn ${expiresOn}`);

const again = await client.POST("/tenants/{tenant}/getToken", { params: tenant });
check(again.response.status === 200, `second getToken: ${again.response.status}`);
check(again.data?.user.communicationUserId === userId, "the same ACS identity");

const user = await client.GET("/tenants/{tenant}/user", { params: tenant });
check(user.response.status === 200, `getUser: ${user.response.status}`);
check(user.data?.communicationUserId === userId, "getUser names the identity");

const refused = await client.POST("/tenants/{tenant}/getToken", {
  params: tenant,
  body: { expiresInMinutes: 30 },
});
check(refused.response.status === 400, `a lifetime below 60: ${refused.response.status}`);
const problem: Problem | undefined = refused.error;
const code: ProblemCode | undefined = problem?.code;
switch (code) {
  case "invalid_body":
    break;
  default:
    throw new Error(`unexpected problem code ${String(code)}`);
}
const field = problem?.errors?.[0]?.field;
check(field === "expiresInMinutes", `the field is named: ${String(field)}`);

const deleted = await client.DELETE("/tenants/{tenant}/deleteUser", { params: tenant });
check(deleted.response.status === 204, `deleteUser: ${deleted.response.status}`);

const gone = await client.GET("/tenants/{tenant}/user", { params: tenant });
check(gone.response.status === 404 && gone.error?.code === "user_not_found", "deleted");

console.log(`typescript client: ok (${userId})`);
