/**
 * Resolves with the first SIGINT or SIGTERM; a second one quits at once (exit 130). The
 * handlers stay attached, so other libraries' signal handlers see that someone handles them.
 *
 * @example
 * ```ts
 * const stop = stopSignal();
 * const signal = await stop;
 * console.error(`${signal}: stopping`);
 * ```
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  let stopping = false;
  return new Promise((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      resolve(received);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
