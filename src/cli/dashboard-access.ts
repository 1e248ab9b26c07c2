import { UsageError } from "../core/errors.ts";
import { isLoopback } from "../dashboard/guard.ts";

/**
 * Where a dashboard listens and the token it asks for: `--host` (default 127.0.0.1), and
 * `--token` or else DISKPIPE_TOKEN. A dashboard on any other host than loopback without a token
 * is refused (a usage error) before anything starts.
 *
 * @example
 * ```ts
 * const { host, token } = dashboardAccess({ host: "0.0.0.0", token: process.env.DISKPIPE_TOKEN }, true);
 * ```
 */
export function dashboardAccess(
  flags: { host?: string; token?: string },
  serving: boolean,
): { host: string; token: string | undefined } {
  const token = flags.token || process.env.DISKPIPE_TOKEN || undefined;
  const host = flags.host ?? "127.0.0.1";
  if (serving && !isLoopback(host) && !token) {
    throw new UsageError(
      `--host ${host} would open the dashboard to the network without a token: set DISKPIPE_TOKEN (or --token)`,
    );
  }
  return { host, token };
}
