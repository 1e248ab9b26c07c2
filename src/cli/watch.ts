import { UsageError } from "../core/errors.ts";
import { formatSize, parseSize } from "../core/size.ts";
import { isLoopback } from "../dashboard/guard.ts";
import { createSpool } from "../spool/spool.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";
import { spoolLogger } from "./watch-log.ts";

/**
 * Flags of `diskpipe watch`.
 *
 * @example
 * ```ts
 * const flags: WatchFlags = { dashboard: true, port: 8080, jobs: 2, poll: false };
 * ```
 */
export interface WatchFlags extends GlobalOptions {
  dashboard?: boolean;
  host?: string;
  port?: number;
  token?: string;
  poll?: boolean;
  maxUpload?: string;
  settle?: number;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * `diskpipe watch SPOOL`: converts what lands in `SPOOL/incoming/<format>/` until SIGINT or
 * SIGTERM, optionally serving the dashboard. Returns the exit code.
 *
 * @example
 * ```ts
 * await runWatch("/srv/spool", { dashboard: true, port: 8080 });
 * ```
 */
export async function runWatch(root: string, flags: WatchFlags): Promise<number> {
  setVerbosity(verbosityOf(flags));
  const token = flags.token || process.env.DISKPIPE_TOKEN || undefined;
  const host = flags.host ?? "127.0.0.1";
  const maxUpload = flags.maxUpload === undefined ? undefined : parseSize(flags.maxUpload);
  if (flags.dashboard && !isLoopback(host) && !token) {
    throw new UsageError(`--host ${host} would open the dashboard to the network without a token: set DISKPIPE_TOKEN (or --token)`);
  }
  // Attached before anything starts, so a signal at any moment stops cleanly. They stay attached
  // while stopping: a second signal quits at once, and other libraries' signal handlers (execa's
  // signal-exit) see that someone handles the signal.
  let stopping = false;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      resolve(received);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const pipeline = await openPipeline(flags);
  const spool = createSpool({ root, pipeline, poll: flags.poll, settleMs: flags.settle, onEvent: spoolLogger(root, Boolean(flags.json)) });
  await spool.start();
  const say = (line: string) => messages.info(line);
  say(`watching ${spool.layout.root}: drop files into incoming/<format>/ (${spool.targets().join(", ")}), at most ${pipeline.limit.size} at once`);

  let server: { url: string; close(): Promise<void> } | undefined;
  try {
    if (flags.dashboard) {
      const { serveDashboard } = await import("../dashboard/serve-dashboard.ts");
      // serveDashboard's own default port (8080) applies without --port.
      server = await serveDashboard({ spool, token, hostname: host, port: flags.port, maxUpload });
      say(`dashboard at ${server.url}${token ? " (token required)" : ""}${maxUpload !== undefined ? `, uploads up to ${formatSize(maxUpload)}` : ""}`);
    }
  } catch (error) {
    await spool.stop();
    throw error;
  }

  const signal = await stopSignal;
  say(`${signal}: stopping (running jobs are aborted and run again at the next start; ${signal} again to quit at once)`);
  await server?.close();
  await spool.stop();
  say("stopped");
  return 0;
}
