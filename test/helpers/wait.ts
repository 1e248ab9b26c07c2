/** Polls `check` until it returns a truthy value, or fails after `ms` naming `what` (a function: what stands at that moment). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string | (() => string),
  ms = 30_000,
): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until)
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
