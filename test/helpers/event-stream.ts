/**
 * A server-sent event stream read as it arrives: `until(pattern)` resolves with everything read
 * so far once it matches.
 *
 * @example
 * ```ts
 * const events = await openEvents(`${url}api/events`);
 * await events.until(/event: hello/);
 * events.close();
 * ```
 */
export interface EventStream {
  until(pattern: RegExp, ms?: number): Promise<string>;
  text(): string;
  close(): void;
}

export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`GET ${url}: ${response.status}`);
  const reader = response.body.getReader();
  let text = "";
  const waiters = new Set<() => void>();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
        for (const wake of waiters) wake();
      }
    } catch {
      // closed
    }
  })();
  return {
    text: () => text,
    until(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(text)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(text);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} in the event stream within ${ms} ms; got: ${text.slice(-2000)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
