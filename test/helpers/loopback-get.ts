import { request } from "node:http";

/**
 * GET `path` from 127.0.0.1:`port` on a real socket, with headers of the test's choosing (a
 * foreign Host header too: nothing rewrites it), and answers the status code.
 *
 * @example
 * ```ts
 * assert.equal(await loopbackGet(port, "/api/jobs", { host: "rebind.example" }), 403);
 * ```
 */
export function loopbackGet(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}
