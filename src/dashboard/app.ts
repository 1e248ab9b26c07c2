import { Hono, type Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";
import { isDiskpipeError } from "../core/errors.ts";
import { formatSize } from "../core/size.ts";
import type { Spool } from "../spool/spool.ts";
import { requireToken, sameSecret, SESSION_COOKIE, sessionValue } from "./auth.ts";
import { refuseTraversal, requestGuard } from "./guard.ts";
import { LiveHub, type LiveUpdate } from "./live.ts";
import { renderDetail, renderIndex, renderLogin, renderRow } from "./render.ts";
import type { JobSource } from "./source.ts";
import { spoolSource } from "./spool-source.ts";
import { receiveUpload, UploadError } from "./upload.ts";

/**
 * Options of {@link createDashboard}.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { spool, token: process.env.DISKPIPE_TOKEN, maxUpload: 16 * 1024 ** 3 };
 * ```
 */
export interface DashboardOptions {
  /** The spool to show (a shorthand for `source: spoolSource(spool)`). */
  spool?: Spool;
  /** What to show: a spool's or a queue's jobs (`spoolSource`, `queueSource`); one of `spool` and `source` is required. */
  source?: JobSource;
  /** Required on every route (bearer header or login cookie) when set. */
  token?: string;
  /** Largest upload in bytes (default 64 GiB). */
  maxUpload?: number;
  /** Answer only requests addressed to a loopback name (default true): blocks DNS rebinding. */
  loopbackOnly?: boolean;
  /** Seconds between keep-alive comments on the event stream (default 15). */
  keepAliveSeconds?: number;
}

/**
 * A dashboard: the Hono app, and `close` to end its event streams.
 *
 * @example
 * ```ts
 * const dashboard: Dashboard = createDashboard({ spool });
 * await dashboard.app.request("/api/jobs");
 * dashboard.close();
 * ```
 */
export interface Dashboard {
  app: Hono;
  close(): void;
}

const DEFAULT_MAX_UPLOAD = 64 * 1024 ** 3;

function wantsHtml(c: Context): boolean {
  return (c.req.header("accept") ?? "").includes("text/html");
}

/**
 * The dashboard as a Hono app: the jobs page with live updates over server-sent events, a
 * detail view per job, a JSON API, retry, and streaming uploads into the spool. Serve it with
 * `serve()` from `./serve.ts`, or call `app.request()` in tests.
 *
 * @example
 * ```ts
 * const token = process.env.DISKPIPE_TOKEN ?? "s3cret";
 * const { app } = createDashboard({ spool, token });
 * const res = await app.request("/api/jobs", { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const { token } = options;
  const source = sourceOf(options);
  const maxUpload = options.maxUpload ?? DEFAULT_MAX_UPLOAD;
  const keepAlive = (options.keepAliveSeconds ?? 15) * 1000;
  const hub = new LiveHub(source);
  const app = new Hono();
  const page = (c: Context) => ({ nonce: c.get("secureHeadersNonce") ?? "", source });

  app.use("*", refuseTraversal());
  app.use("*", requestGuard({ loopbackOnly: options.loopbackOnly ?? true }));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: [NONCE],
        styleSrc: [NONCE],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: "no-referrer",
    }),
  );
  app.onError((error, c) => {
    if (error instanceof UploadError) return c.json({ error: error.message }, error.status);
    if (isDiskpipeError(error))
      return c.json(
        { error: error.message, code: error.code },
        error.code === "usage" ? 409 : error.code === "queue-unavailable" ? 503 : 500,
      );
    return c.json({ error: "internal error" }, 500);
  });

  if (token) {
    app.get("/login", (c) => c.html(renderLogin(page(c).nonce, false)));
    app.post("/login", async (c) => {
      if (Number(c.req.header("content-length") ?? 0) > 4096) return c.json({ error: "too large" }, 413);
      const form = await c.req.parseBody();
      const given = typeof form.token === "string" ? form.token : "";
      if (!sameSecret(given, token)) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        return c.html(renderLogin(page(c).nonce, true), 401);
      }
      setCookie(c, SESSION_COOKIE, sessionValue(token), {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        secure: new URL(c.req.url).protocol === "https:",
      });
      return c.redirect("/", 303);
    });
    app.post("/logout", (c) => {
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.redirect("/login", 303);
    });
    app.use("*", requireToken(token));
  }

  app.get("/", async (c) =>
    c.html(
      renderIndex(
        page(c),
        (await source.list()).map((entry) => entry.job),
        formatSize(maxUpload),
      ),
    ),
  );

  app.get("/jobs/:id", async (c) => {
    const id = c.req.param("id");
    if (!source.isJobId(id)) return c.json({ error: "bad job id" }, 400);
    const entry = await source.get(id);
    if (!entry) return c.json({ error: `no job ${id}` }, 404);
    return c.html(renderDetail(page(c), entry.job, c.req.query("fragment") === "1"));
  });

  app.get("/api/jobs", async (c) => c.json((await source.list()).map((entry) => entry.data)));

  app.get("/api/jobs/:id", async (c) => {
    const id = c.req.param("id");
    if (!source.isJobId(id)) return c.json({ error: "bad job id" }, 400);
    const entry = await source.get(id);
    return entry ? c.json(entry.data) : c.json({ error: `no job ${id}` }, 404);
  });

  app.post("/api/jobs/:id/retry", async (c) => {
    const id = c.req.param("id");
    if (!source.isJobId(id)) return c.json({ error: "bad job id" }, 400);
    if (!(await source.get(id))) return c.json({ error: `no job ${id}` }, 404);
    const { data: job } = await source.retry(id);
    return wantsHtml(c) ? c.redirect(`/jobs/${id}`, 303) : c.json({ ok: true, job });
  });

  const uploads = source.uploads;
  if (uploads) {
    app.post("/upload", async (c) => {
      const uploaded = await receiveUpload(c, uploads, maxUpload);
      return wantsHtml(c) ? c.redirect("/", 303) : c.json({ ok: true, ...uploaded }, 201);
    });
  }

  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      // Every state change is sent; progress within one state is coalesced, so a slow client
      // gets the newest percentage rather than a backlog.
      const pending = new Map<string, LiveUpdate>();
      let wake: (() => void) | undefined;
      const off = hub.subscribe((update) => {
        pending.set(`${update.job.id}:${update.job.state}`, update);
        wake?.();
      });
      stream.onAbort(off);
      try {
        // With ?rows=1 (the jobs page) the first message also carries every row as it stands now, read
        // after subscribing: a job added between the page's load and this connection is in it, and
        // any later change follows it on this stream.
        const rows =
          c.req.query("rows") === "1"
            ? (await source.list()).map(({ job }) => ({ id: job.id, row: renderRow(job, source) }))
            : undefined;
        await stream.writeSSE({
          event: "hello",
          data: JSON.stringify({ counts: await hub.counts(), ...(rows && { rows }) }),
        });
        const closed = hub.whenClosed();
        while (!stream.aborted && !hub.closed) {
          const updates = [...pending.values()];
          pending.clear();
          for (const update of updates) await stream.writeSSE({ event: "job", data: JSON.stringify(update) });
          if (pending.size > 0) continue;
          let timer: ReturnType<typeof setTimeout> | undefined;
          const woke = new Promise<void>((resolve) => (wake = resolve));
          const tick = new Promise<"tick">((resolve) => (timer = setTimeout(resolve, keepAlive, "tick")));
          const why = await Promise.race([woke, tick, closed]);
          clearTimeout(timer);
          wake = undefined;
          if (why === "tick") await stream.write(": keep-alive\n\n");
        }
      } finally {
        off();
      }
    }),
  );

  return { app, close: () => hub.close() };
}

function sourceOf(options: DashboardOptions): JobSource {
  if (options.source) return options.source;
  if (options.spool) return spoolSource(options.spool);
  throw new TypeError("createDashboard needs a spool or a source");
}
