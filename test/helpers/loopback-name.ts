import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { namesLocalHost } from "../../src/core/io/redirects.ts";

/**
 * A host name that does not look local (not localhost, not an address) but resolves only to
 * loopback addresses here (this machine's name or a hosts-file alias), or undefined.
 */
export async function loopbackName(): Promise<string | undefined> {
  for (const name of [hostname(), "vm", "runsc"]) {
    if (namesLocalHost(new URL(`http://${name}/`))) continue;
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.length > 0 && addresses.every((a) => a.address === "127.0.0.1")) return name;
  }
  return undefined;
}
