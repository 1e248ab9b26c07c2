import { resolve, sep } from "node:path";
import { DiskpipeError } from "../core/errors.ts";
import { namesLocalHost } from "../core/io/redirects.ts";
import { redactLocation } from "../core/redact.ts";
import { isUrlLocation } from "../core/io/location.ts";

/**
 * Where a worker lets queued jobs read from and write to: absolute directories and URL origins
 * (`https://h`, `https://h:8443`, `https://*.example.com`, `store://images`). Undefined: any
 * http(s) or store:// location that does not name a loopback or link-local host, and no local
 * path at all.
 *
 * @example
 * ```ts
 * const allow: AllowList = { sources: ["/srv/shared/in", "https://images.example.com"], destinations: ["/srv/shared/out"] };
 * ```
 */
export interface AllowList {
  sources?: readonly string[];
  destinations?: readonly string[];
}

/**
 * Refuses (with `usage`, naming the worker) a location the worker's operator did not allow:
 * whoever can write to the queue must not be able to make a worker read its host's files or
 * reach its private network.
 *
 * @example
 * ```ts
 * checkAllowed("/etc/shadow", "source", { sources: ["/srv/in"] }, "worker-1"); // throws usage
 * ```
 */
export function checkAllowed(
  location: string,
  kind: "source" | "destination",
  allow: AllowList | undefined,
  worker: string,
): void {
  const entries = kind === "source" ? allow?.sources : allow?.destinations;
  const reason = refusal(location, entries);
  if (reason) {
    throw new DiskpipeError(
      "usage",
      `worker ${worker} does not accept the ${kind} ${redactLocation(location)}: ${reason}`,
      { stage: "queue" },
    );
  }
}

function refusal(location: string, entries: readonly string[] | undefined): string | undefined {
  if (!isUrlLocation(location)) {
    if (!entries) return "local paths need the worker's queue.allow to list their directory";
    const path = resolve(location);
    if (path !== (location.length > 1 ? location.replace(/\/+$/, "") : location))
      return "the path is not in normal form (no . or .. parts)";
    return entries.some((entry) => !isUrlLocation(entry) && under(path, entry))
      ? undefined
      : "not under a directory in the worker's queue.allow";
  }
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return "not a valid URL";
  }
  if (!entries) {
    if (!["http:", "https:", "store:"].includes(url.protocol))
      return "only http(s) and store:// locations are accepted";
    return namesLocalHost(url) ? "it names a loopback or link-local host" : undefined;
  }
  return entries.some((entry) => isUrlLocation(entry) && originMatches(url, entry))
    ? undefined
    : "its origin is not in the worker's queue.allow";
}

/**
 * Whether an absolute path lies in one of the allowed directories (always false for an
 * undefined list).
 *
 * @example
 * ```ts
 * isUnderAllowed("/srv/in/a.vmdk", ["/srv/in"]); // true
 * ```
 */
export function isUnderAllowed(path: string, entries: readonly string[] | undefined): boolean {
  return (entries ?? []).some((entry) => !isUrlLocation(entry) && under(path, entry));
}

function under(path: string, directory: string): boolean {
  const dir = resolve(directory);
  return path === dir || path.startsWith(dir === sep ? dir : `${dir}${sep}`);
}

function originMatches(url: URL, entry: string): boolean {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/([^/]+)\/?$/i.exec(entry);
  if (!match) return false;
  const [, scheme = "", host = ""] = match;
  if (scheme.toLowerCase() !== url.protocol) return false;
  const wanted = host.toLowerCase();
  if (wanted.startsWith("*."))
    return !wanted.includes(":") && url.port === "" && url.hostname.toLowerCase().endsWith(wanted.slice(1));
  return (
    wanted === url.host.toLowerCase() ||
    (!wanted.includes(":") && wanted === url.hostname.toLowerCase() && url.port === "")
  );
}
