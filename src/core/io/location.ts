/**
 * Whether a job's location is a URL (`scheme://…`: http, https, store, …) rather than a path
 * on this machine.
 *
 * @example
 * ```ts
 * isUrlLocation("store://images/web-01"); // true
 * isUrlLocation("/srv/out/a.qcow2"); // false
 * ```
 */
export function isUrlLocation(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

/**
 * Whether a location is an http:// or https:// URL.
 *
 * @example
 * ```ts
 * isHttpUrl("HTTPS://host/img.qcow2"); // true
 * ```
 */
export function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}
