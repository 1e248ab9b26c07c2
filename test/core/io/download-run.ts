import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GrowingFile } from "../../../src/core/io/growing-file.ts";
import { download, type DownloadOptions, type DownloadResult } from "../../../src/core/io/http-download.ts";
import { ScriptedServer, type Answer } from "./scripted-server.ts";

/** What one download did: its result or error, the bytes on disk, what it reported. */
export interface Run {
  result?: DownloadResult;
  error?: unknown;
  bytes: Buffer;
  notices: string[];
  progress: [number, number | undefined][];
  file: GrowingFile;
}

let count = 0;

/**
 * Downloads `url` into a new file under `dir` (fast options: no backoff, one retry, a 2 s idle
 * timeout, unless `options` says otherwise), and reports what happened; never throws.
 */
export async function run(url: URL, dir: string, options: Partial<DownloadOptions> = {}): Promise<Run> {
  const file = await GrowingFile.create(join(dir, `download-${++count}`));
  const notices: string[] = [];
  const progress: [number, number | undefined][] = [];
  const outcome: Run = { bytes: Buffer.alloc(0), notices, progress, file };
  try {
    outcome.result = await download(url, file, {
      timeoutMs: 2000,
      retries: 1,
      backoffMs: 1,
      algorithm: "sha256",
      signal: new AbortController().signal,
      onNotice: (message) => notices.push(message),
      onProgress: (bytes, total) => progress.push([bytes, total]),
      ...options,
    });
  } catch (error) {
    outcome.error = error;
  }
  outcome.bytes = readFileSync(file.path);
  await file.close();
  return outcome;
}

/** `sha256:HEX` of `text`. */
export function sha256(text: string | Buffer): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** The `code` of an error, if it has one. */
export function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/** Runs `body` with a scripted server answering `answers`, closing the server after. */
export async function serve<T>(answers: Answer[], body: (server: ScriptedServer) => Promise<T>): Promise<T> {
  const server = await ScriptedServer.start(...answers);
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}
