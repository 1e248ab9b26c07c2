import { lookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from "node:dns";
import { isIP } from "node:net";

/**
 * Whether an IP address is loopback, link-local or unspecified (IPv4, IPv6, and IPv4 mapped
 * into IPv6): where a redirect must not lead unless the first URL was there already.
 *
 * @example
 * ```ts
 * isLocalAddress("169.254.169.254"); // true (link-local: cloud metadata services live here)
 * ```
 */
export function isLocalAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return isLocalAddress(mapped[1]!);
  // The URL parser writes a mapped IPv4 address in hex: ::ffff:7f00:1 is 127.0.0.1.
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return isLocalAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  if (isIP(ip) === 4) {
    const [a, b] = ip.split(".").map(Number);
    return a === 127 || a === 0 || (a === 169 && b === 254);
  }
  if (isIP(ip) === 6) return ip === "::1" || ip === "::" || /^fe[89ab][0-9a-f]:/.test(ip);
  return false;
}

/** The host name of a URL without IPv6 brackets. */
function hostOf(url: URL): string {
  // Stryker disable next-line Regex: a URL's hostname holds brackets only around an IPv6 address, first and last, so the anchors change nothing
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

/**
 * Whether `url` names a loopback or link-local place by itself: an address of that kind or
 * `localhost`. (Names are checked when they resolve, see {@link guardedLookup}.)
 *
 * @example
 * ```ts
 * namesLocalHost(new URL("http://127.0.0.1:8080/x")); // true
 * ```
 */
export function namesLocalHost(url: URL): boolean {
  const host = hostOf(url);
  return host === "localhost" || host.endsWith(".localhost") || isLocalAddress(host);
}

/** Whether `url`'s host is on the allow-list: `host`, `host:port`, or `*.domain` entries. */
function listed(url: URL, allow: readonly string[]): boolean {
  const host = hostOf(url);
  return allow.some((entry) => {
    const bare = entry.toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
    // Stryker disable next-line Regex: without `$` only a path over a line break is cut too, and no host holds a line break either way
    const wanted = bare.replace(/\/.*$/, "");
    if (wanted.startsWith("*.")) return host.endsWith(wanted.slice(1));
    return wanted.replace(/^\[|\]$/g, "") === host || wanted === url.host.toLowerCase();
  });
}

/**
 * Why a redirect from `from` to `to` must not be followed, or undefined when it may. Allowed:
 * http(s) only, never from https to http; the first URL's scheme and host (`host:port`), or a
 * host on `allow` (`fetch.allowRedirects`); and never a loopback or link-local address unless
 * the first URL named one.
 *
 * @example
 * ```ts
 * redirectRefusal(new URL("https://a.example/x"), new URL("https://a.example/x"), new URL("http://169.254.169.254/"), []);
 * // "it leaves https"
 * ```
 */
export function redirectRefusal(first: URL, from: URL, to: URL, allow: readonly string[]): string | undefined {
  // Stryker disable next-line Regex: a URL's protocol ends at its first colon, so the `$` after the colon changes nothing
  if (!/^https?:$/.test(to.protocol)) return "it is not http or https";
  if (from.protocol === "https:" && to.protocol === "http:") return "it leaves https";
  const sameOrigin = to.protocol === first.protocol && to.host === first.host;
  if (!sameOrigin && !listed(to, allow)) return `${to.host} is not ${first.host} and not in fetch.allowRedirects`;
  if (!namesLocalHost(first) && namesLocalHost(to)) return "it leads to a loopback or link-local address";
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` for requests after a redirect: the addresses a name resolves to must not be
 * loopback or link-local (a public name can point anywhere), so a redirect cannot reach a
 * local service by name.
 *
 * @example
 * ```ts
 * import { request } from "node:http";
 * request(new URL("http://images.example/disk.qcow2"), { lookup: guardedLookup });
 * ```
 */
export function guardedLookup(
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: LookupCallback,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const usable = addresses.filter((a) => !isLocalAddress(a.address));
    if (usable.length === 0) {
      const refused = Object.assign(
        new Error(`refusing ${hostname}: it resolves to a loopback or link-local address`),
        { code: "EREDIRECTLOCAL" },
      );
      return callback(refused, []);
    }
    if ((options as LookupAllOptions).all) return callback(null, usable);
    callback(null, usable[0]!.address, usable[0]!.family);
  });
}
