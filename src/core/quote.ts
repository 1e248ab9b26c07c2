import { CONTROL_CHARACTERS } from "./redact.ts";

/**
 * A value from an untrusted input as a refusal shows it: quoted and escaped as a JSON string,
 * cut to `max` characters (then "…"). Beyond what JSON escapes (C0 controls, quotes,
 * backslashes), DEL, C1 controls (U+0080–U+009F), line and paragraph separators and
 * bidirectional embeddings, overrides and isolates are written as `\uXXXX` too, so a name
 * quoted in a message cannot add lines, colour a terminal or reorder what it shows.
 *
 * @example
 * ```ts
 * quote("disk\u001b[31m"); // "\"disk\\u001b[31m\""
 * quote("evil\u202egpj.raw\u009b"); // "\"evil\\u202egpj.raw\\u009b\""
 * quote("a".repeat(100), 3); // "\"aaa…\""
 * ```
 */
export function quote(value: string, max = 80): string {
  const json = JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  // JSON.stringify has escaped every C0 control already; what is left of the class gets \u escapes.
  return json.replace(CONTROL_CHARACTERS, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
