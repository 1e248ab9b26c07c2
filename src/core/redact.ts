/**
 * Names of query (or fragment) parameters that carry credentials in signed or tokened URLs
 * (S3 and GCS signatures, Azure SAS `sig`, OAuth tokens, API keys, passwords).
 */
const SECRET_PARAM =
  /(^|[-_.])(sig|signature|token|secret|passw(or)?d|pwd|key|apikey|credential|auth|jwt|session)s?($|[-_.])|^x-amz-|^x-goog-/i;

/**
 * A location safe to show and store: a URL's user name and password removed, and the values
 * of credential-bearing query parameters replaced; anything that is not a URL is returned as is.
 *
 * @example
 * ```ts
 * redactLocation("https://u:pw@h/x.qcow2?X-Amz-Signature=ab12"); // "https://h/x.qcow2?X-Amz-Signature=REDACTED"
 * ```
 */
export function redactLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    // Not a URL the parser takes: it still loses anything that looks like user:password@.
    return stripUserinfo(location);
  }
  const fragment = new URLSearchParams(url.hash.slice(1));
  const secretIn = (params: URLSearchParams) => [...params.keys()].some((key) => SECRET_PARAM.test(key));
  if (!url.username && !url.password && !secretIn(url.searchParams) && !secretIn(fragment)) return location;
  url.username = "";
  url.password = "";
  for (const key of [...url.searchParams.keys()]) if (SECRET_PARAM.test(key)) url.searchParams.set(key, "REDACTED");
  if (secretIn(fragment)) url.hash = "REDACTED";
  return url.toString();
}

function stripUserinfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i, "$1");
}

/**
 * Text with every URL in it redacted (see {@link redactLocation}), for messages that quote
 * locations.
 *
 * @example
 * ```ts
 * redactText("GET http://u:pw@h/x failed"); // "GET http://h/x failed"
 * ```
 */
export function redactText(text: string): string {
  // Found from each "://" outwards rather than by one pattern over the text: a pattern that
  // tries every scheme-like start takes quadratic time on text such as "a.a.a.…" (80 KB: 5 s).
  let shown = "";
  let done = 0;
  for (let at = text.indexOf("://"); at !== -1; at = text.indexOf("://", Math.max(at + 3, done))) {
    const start = schemeStart(text, done, at);
    let end = at + 3;
    while (end < text.length && !URL_END.test(text.charAt(end))) end++;
    if (start === -1 || end === at + 3) continue;
    shown += text.slice(done, start) + redactLocation(text.slice(start, end));
    done = end;
  }
  return shown + text.slice(done);
}

/** A character that ends a URL in running text. */
const URL_END = /[\s"'<>]/;

/**
 * Where the scheme before `text[at]` ("://") starts: the first letter, not after a word
 * character, of the run of scheme characters (letters, digits, `+`, `.`, `-`) ending at `at`
 * and starting at `from` or later; -1 when there is none.
 */
function schemeStart(text: string, from: number, at: number): number {
  let run = at;
  while (run > from && /[a-z0-9+.-]/i.test(text.charAt(run - 1))) run--;
  for (let start = run; start < at; start++) {
    const before = start === 0 ? "" : text.charAt(start - 1);
    if (/[a-z]/i.test(text.charAt(start)) && !/\w/.test(before)) return start;
  }
  return -1;
}

/**
 * What a terminal or a text renderer treats as more than a character: C0 and C1 controls, DEL,
 * line and paragraph separators, bidirectional embeddings, overrides and isolates.
 *
 * @example
 * ```ts
 * CONTROL_CHARACTERS.test("a\u202eb"); // true
 * ```
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on one terminal line: control characters (C0, DEL, C1), line and
 * paragraph separators and bidirectional overrides are written as escapes (`\n`, `\x1b`,
 * `\u202e`), so input quoted in a message cannot add lines, colours or reorder what is shown.
 *
 * @example
 * ```ts
 * escapeControl("a\nb\u001b[31m"); // "a\\nb\\x1b[31m"
 * ```
 */
export function escapeControl(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (char) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    const code = char.charCodeAt(0);
    const hex = (digits: number) => code.toString(16).padStart(digits, "0");
    // Stryker disable next-line EqualityOperator: `<=` differs only at U+0100, which CONTROL_CHARACTERS never matches
    return named[char] ?? (code < 0x100 ? `\\x${hex(2)}` : `\\u${hex(4)}`);
  });
}

/**
 * What diskpipe shows of any text that may quote input: URLs redacted, control characters escaped.
 *
 * @example
 * ```ts
 * safeText("http://u:pw@h/a\nb"); // "http://h/a\\nb"
 * ```
 */
export function safeText(text: string): string {
  return escapeControl(redactText(text));
}
