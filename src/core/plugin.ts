import type { Detector } from "./inspect/types.ts";
import type { ConvertPlan, JobSpec } from "./job.ts";
import type { JobContext } from "./context.ts";
import type { ImageRegion } from "./io/image-region.ts";
import type { SinkDriver, SourceDriver } from "./io/types.ts";

/** A hook is a function, or an object that also sets its order among the plugins. */
export type Hook<F> = F | { handler: F; order?: "pre" | "post" };

/**
 * The five hook points of the pipeline and their strategies.
 * - `preFetch` (sequential): may rewrite `ctx.spec` before anything is read.
 * - `verify` (sequential, veto): runs after the inspector accepted the image; throw to refuse it.
 * - `preConvert` (reduce): each handler gets the plan the previous one returned.
 * - `postConvert` (sequential, veto): checks the output before it is committed.
 * - `upload` (sequential, veto): runs before the output is committed to its destination.
 */
export interface PluginHooks {
  preFetch?: Hook<(ctx: JobContext) => void | Promise<void>>;
  verify?: Hook<(ctx: JobContext) => void | Promise<void>>;
  preConvert?: Hook<(plan: ConvertPlan, ctx: JobContext) => ConvertPlan | void | Promise<ConvertPlan | void>>;
  postConvert?: Hook<(ctx: JobContext) => void | Promise<void>>;
  upload?: Hook<(ctx: JobContext) => void | Promise<void>>;
}

/** Names of the hook points. */
export type HookName = keyof PluginHooks;

/** A local image a container handler unpacked, ready for the inspector. */
export interface UnpackedImage {
  path: string;
  /** The format the unpacked image is claimed to be. */
  format: string;
  /**
   * The image is only this byte range of `path`: a member of the fetched archive itself,
   * read where it lies instead of copied out. `path` must then be the job's fetched image
   * (`ctx.image.path`), which the core has pinned: nobody else can change it during the job.
   */
  region?: ImageRegion;
}

/** One disk of an appliance a container handler unpacked. */
export interface ApplianceDisk extends UnpackedImage {
  /**
   * The virtual size the appliance's description declares for it: the disk's own header must
   * say the same, else the job fails with `format-mismatch`.
   */
  capacity?: number;
}

/** Where one disk of an appliance was written. */
export interface ApplianceOutput {
  /** The output's file name, in the directory of the outputs. */
  file: string;
  /** Its format (the job's `to`). */
  format: string;
  /** The disk's virtual size in bytes, as inspected. */
  virtualSize: number;
  /** Bytes of the written output. */
  size: number;
  /** The disk's content hash (`blk-sha256:HEX`), when the job verified it (`--verify`). */
  contentHash?: string;
}

/**
 * An appliance a container handler unpacked: several disks, each converted to
 * `<stem>-disk<N>.<extension>` (N from 1, in this order), and a description of the machine
 * written beside them as `<stem>.<suffix>.json`, all or none.
 */
export interface UnpackedAppliance {
  disks: ApplianceDisk[];
  description: {
    /** The description file's middle name: `ovf` gives `<stem>.ovf.json`. */
    suffix: string;
    /** Its content, given where each disk went (in the order of `disks`). */
    render(outputs: ApplianceOutput[]): unknown;
  };
}

/**
 * A format handler: how a format is named, read and written by qemu-img, detected natively,
 * and (optionally) unpacked or prepared before conversion.
 */
export interface FormatDefinition {
  /** Conventional name: the one users type (`--to vhd`). */
  name: string;
  /** qemu block driver; absent when qemu cannot read or write the format directly. */
  qemuDriver?: string;
  /** File extension for outputs, without the dot (defaults to the name). */
  extension?: string;
  /** Whether qemu-img may write this format (defaults to true when `qemuDriver` is set). */
  writable?: boolean;
  /**
   * Whether an output in this format may be compressed (`--compress`, `spec.options.compress`:
   * qemu-img convert `-c`); the format's `outputOptions` or hooks add what it needs besides.
   */
  compresses?: boolean;
  /** Detected formats a claim of this name accepts (e.g. ami accepts raw and qcow2). */
  accepts?: string[];
  /** Other names a claim may use for this format (qemu's driver name, say: vpc for vhd). */
  aliases?: string[];
  /**
   * A native detector for the format, run on every image alongside the built-in ones; it
   * replaces the core's refusal of the images of `qemuDriver` when the core has one.
   */
  detect?: Detector["detect"];
  /** The problem codes `detect` reports besides the core's (stable: scripts match on them). */
  problemCodes?: readonly string[];
  /** Whether the detector needs the end of the image. */
  detectPhase?: Detector["phase"];
  /** The detector's name in an inspection's `matches` (default: the format's name). */
  detectorName?: string;
  /**
   * Whether this handler takes the job (format resolution is first-match).
   * Defaults to `spec.from === name && !spec.container`.
   */
  claims?(spec: JobSpec): boolean;
  /**
   * Refuses, with a UsageError, a request this format cannot honour as a target (an option it
   * does not take): checked before anything is fetched.
   */
  checkSpec?(spec: JobSpec): void;
  /**
   * Turns a container into one image, in `ctx.workDir`, before inspection (e.g. a VHD chain
   * tarball), or into an appliance's disks (an OVA), each inspected and converted on its own.
   */
  unpack?(ctx: JobContext): Promise<UnpackedImage | UnpackedAppliance>;
  /**
   * Whether `unpack` reads a download while it arrives (`ctx.image.arriving`): from an HTTP
   * source the container is then unpacked in the same pass as the download, and a hostile
   * image inside is refused before the rest is fetched. The core still awaits
   * `arriving.complete` (every byte in, `--checksum` verified) before it uses what `unpack`
   * returned. Without it, `unpack` only ever sees a complete file.
   */
  unpacksArriving?: boolean;
  /**
   * Bytes an output of `virtualSize` needs, when `qemu-img measure` cannot say it cheaply
   * (e.g. LUKS: measuring derives keys).
   */
  estimateSize?(virtualSize: number): number;
  /**
   * The largest file an image of `virtualSize` can be in this format (data plus the most
   * metadata it can carry), from its header's facts. A download is cut, and the image
   * rejected (`file-too-large`), as soon as it passes this bound. Formats whose files can be
   * any size (raw, iso) leave it out: `--max-size` bounds them.
   */
  maxFileSize?(virtualSize: number, details: Record<string, unknown>): number;
  /**
   * For a container (`unpack`): the largest file it can be when what it holds may be at most
   * `maxFileSize` bytes (what `--max-size` allows an image to be). The download of a claimed
   * container is cut there (`too-large`). Leave it out when a container may rightly hold more
   * than one image's worth (a VHD chain): its download is then bounded by the source alone.
   */
  maxArchiveSize?(maxFileSize: number): number;
  /** `-o` options when this format is the target, from `ctx.spec.options`. */
  outputOptions?(ctx: JobContext): Record<string, string | number | boolean>;
}

/**
 * A plugin: named hooks, optional format handlers, an order.
 *
 * @example
 * ```ts
 * const audit = definePlugin({
 *   name: "audit",
 *   hooks: { verify: (ctx) => { if (ctx.inspection!.virtualSize > 2 ** 40) throw new Error("over 1 TiB"); } },
 * });
 * ```
 */
export interface Plugin {
  name: string;
  /** "pre" plugins run before normal ones, "post" after; ties keep registration order. */
  enforce?: "pre" | "post";
  /**
   * Opt in per job: when it returns false, the plugin's hooks do not run for that job. Its
   * formats, sources and sinks stay registered for every job.
   */
  apply?: (spec: JobSpec) => boolean;
  hooks?: PluginHooks;
  formats?: FormatDefinition[];
  /** Where images can come from (URL schemes, stores); tried before the built-in ones. */
  sources?: SourceDriver[];
  /** Where images can go; tried before the built-in ones. */
  sinks?: SinkDriver[];
  /** Flags the plugin adds to `diskpipe convert` (shown by `convert --help` when it is loaded). */
  convertOptions?: ConvertOption[];
}

/**
 * A flag a plugin adds to `diskpipe convert`; its value reaches every job as
 * `spec.options[key]`, where the plugin's hooks read it (as a script passes `options`).
 *
 * @example
 * ```ts
 * const option: ConvertOption = { flags: "--iter-time <ms>", description: "key derivation time", key: "iterTime", type: "number" };
 * ```
 */
export interface ConvertOption {
  /** The flag in commander's syntax: `--passphrase-file <file>`. */
  flags: string;
  description: string;
  /** Where the value goes in `spec.options`. */
  key: string;
  /** "number": the value is given to the job as a number. Default "string". */
  type?: "string" | "number";
}

/** What a plugin list may hold: plugins, presets (nested arrays) and falsy entries that are ignored. */
export type PluginOption = Plugin | false | null | undefined | PluginOption[];

/**
 * The plugins of a nested, conditional list (`[a(), debug && b(), [c(), d()]]`), in order.
 *
 * @example
 * ```ts
 * import { ami, luks } from "diskpipe/plugins";
 * flattenPlugins([luks(), false, [ami()]]); // [luks, ami]
 * ```
 */
export function flattenPlugins(options: readonly PluginOption[]): Plugin[] {
  return (options as unknown[]).flat(Infinity).filter(Boolean) as Plugin[];
}

/**
 * Declares a plugin with full typing. Identity at run time.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: "no-huge",
 *   hooks: { verify(ctx) { if (ctx.inspection!.virtualSize > 1e12) throw new Error("too big for this cloud"); } },
 * });
 * ```
 */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}

/**
 * Declares a format handler with full typing. Identity at run time; register it through a
 * plugin's `formats`.
 *
 * @example
 * ```ts
 * const vhd = defineFormat({ name: "vhd", qemuDriver: "vpc", outputOptions: () => ({ subformat: "dynamic" }) });
 * const plugin = definePlugin({ name: "my-vhd", formats: [vhd] });
 * ```
 */
export function defineFormat(format: FormatDefinition): FormatDefinition {
  return format;
}
