import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { isAuthorized, requireToken, sameSecret, SESSION_COOKIE, sessionValue } from "../../src/dashboard/auth.ts";

const TOKEN = "correct horse battery staple";

/** An app that requires TOKEN and answers "ok" on every path, as the dashboard mounts it. */
function protectedApp(): Hono {
  const app = new Hono();
  app.use("*", requireToken(TOKEN));
  app.all("*", (c) => c.text("ok"));
  return app;
}

/** Whether a request with `headers` carries the token, as {@link isAuthorized} judges it. */
async function authorized(headers: Record<string, string>): Promise<boolean> {
  const app = new Hono();
  app.get("/", (c) => c.text(String(isAuthorized(c, TOKEN))));
  return (await (await app.request("http://127.0.0.1/", { headers })).text()) === "true";
}

describe("auth: secrets and the session cookie", () => {
  it("sameSecret compares whole values, of any length", () => {
    assert.equal(sameSecret(TOKEN, TOKEN), true);
    assert.equal(sameSecret(`${TOKEN} `, TOKEN), false);
    assert.equal(sameSecret("", TOKEN), false);
    assert.equal(sameSecret("", ""), true);
  });

  it("the session value is the versioned HMAC of the token: it never holds the token, and differs per token", () => {
    const expected = createHmac("sha256", TOKEN).update("diskpipe dashboard session v1").digest("base64url");
    assert.equal(sessionValue(TOKEN), expected);
    assert.notEqual(sessionValue("another token"), expected);
    assert.equal(sessionValue(TOKEN).includes(TOKEN), false);
    assert.equal(SESSION_COOKIE, "diskpipe_session");
  });
});

describe("auth: isAuthorized", () => {
  it("accepts the bearer token with any case of the scheme and any run of spaces, trimmed", async () => {
    assert.equal(await authorized({ authorization: `Bearer ${TOKEN}` }), true);
    assert.equal(await authorized({ authorization: `bearer   ${TOKEN}  ` }), true);
    assert.equal(await authorized({ authorization: `BEARER\t${TOKEN}` }), true);
  });

  it("refuses a wrong token, another scheme, the scheme glued to the token, or a prefix before it", async () => {
    assert.equal(await authorized({ authorization: "Bearer wrong" }), false);
    assert.equal(await authorized({ authorization: `Basic ${TOKEN}` }), false);
    assert.equal(await authorized({ authorization: `Bearer${TOKEN}` }), false);
    assert.equal(await authorized({ authorization: `XBearer ${TOKEN}` }), false);
    assert.equal(await authorized({ authorization: `Bearer ${TOKEN} Bearer x` }), false);
    assert.equal(await authorized({ authorization: "Bearer  " }), false);
    assert.equal(await authorized({}), false);
  });

  it("a token that is itself several words is compared whole", async () => {
    assert.equal(await authorized({ authorization: "Bearer correct horse" }), false);
  });

  it("accepts the session cookie for this token only; the token itself as a cookie is refused", async () => {
    assert.equal(await authorized({ cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}` }), true);
    assert.equal(await authorized({ cookie: `${SESSION_COOKIE}=${sessionValue("other")}` }), false);
    assert.equal(await authorized({ cookie: `${SESSION_COOKIE}=${TOKEN}` }), false);
    assert.equal(await authorized({ cookie: `other=${sessionValue(TOKEN)}` }), false);
    assert.equal(await authorized({ cookie: `${SESSION_COOKIE}=` }), false);
  });

  it("a wrong bearer token is refused even with a valid cookie: the header decides when it is present", async () => {
    assert.equal(
      await authorized({ authorization: "Bearer wrong", cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}` }),
      false,
    );
    assert.equal(
      await authorized({ authorization: "Basic x", cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}` }),
      true,
    );
  });
});

describe("auth: requireToken", () => {
  const app = protectedApp();
  const request = (path: string, init: RequestInit = {}) => app.request(`http://127.0.0.1${path}`, init);

  it("lets /login through without the token, and nothing else", async () => {
    assert.equal((await request("/login")).status, 200);
    assert.equal((await request("/login", { method: "POST" })).status, 200);
    assert.equal((await request("/login/x")).status, 401);
    assert.equal((await request("/loginx")).status, 401);
  });

  it("answers the API with 401, a bearer challenge and a JSON reason, even for a browser", async () => {
    const api = await request("/api/jobs", { headers: { accept: "text/html" } });
    assert.equal(api.status, 401);
    assert.equal(api.headers.get("www-authenticate"), 'Bearer realm="diskpipe"');
    assert.match(((await api.json()) as { error: string }).error, /^unauthorized/);
  });

  it("sends a browser's page request to the login form (303), but not a write or a non-HTML request", async () => {
    const page = await request("/", { headers: { accept: "text/html,application/xhtml+xml" } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    assert.equal((await request("/jobs/j-1", { headers: { accept: "text/html" } })).status, 303);
    assert.equal((await request("/", { method: "POST", headers: { accept: "text/html" } })).status, 401);
    assert.equal((await request("/", { headers: { accept: "application/json" } })).status, 401);
    assert.equal((await request("/")).status, 401);
    assert.equal(
      (await request("/x/api/", { headers: { accept: "text/html" } })).status,
      303,
      "only paths starting with /api/ are the API",
    );
  });

  it("serves every route with the token", async () => {
    const ok = await request("/api/jobs", { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "ok");
    assert.equal(
      (await request("/", { headers: { cookie: `${SESSION_COOKIE}=${sessionValue(TOKEN)}`, accept: "text/html" } }))
        .status,
      200,
    );
  });
});
