import { Listeners } from "../core/listeners.ts";
import type { SpoolEvent } from "./types.ts";

/**
 * The spool's listeners: `emit` calls each one, and one that throws does not stop the others
 * or the spool.
 *
 * @example
 * ```ts
 * declare const job: SpoolJob;
 * const events = new SpoolEvents();
 * const off = events.on((e) => console.log(e.type));
 * events.emit({ type: "done", job });
 * off();
 * ```
 */
export class SpoolEvents extends Listeners<SpoolEvent> {}
