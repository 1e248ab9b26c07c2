import { DiskpipeError } from "./errors.ts";
import type { Detector, InspectOptions } from "./inspect/types.ts";
import type { FormatDefinition } from "./plugin.ts";

/**
 * The format registry: conventional names to qemu drivers and back, per-format options, and
 * the detectors plugins contribute. Built from the plugins of a pipeline.
 *
 * @example
 * ```ts
 * const registry = new FormatRegistry();
 * registry.register(defineFormat({ name: "vhd", qemuDriver: "vpc" }));
 * registry.driverOf("vhd"); // "vpc"
 * registry.nameOfDriver("vpc"); // "vhd"
 * ```
 */
export class FormatRegistry {
  readonly #byName = new Map<string, FormatDefinition>();
  readonly #ownerOf = new Map<string, string>();

  /** Adds a format; a second definition of the same name is a configuration error. */
  register(format: FormatDefinition, owner = "config"): void {
    const previous = this.#ownerOf.get(format.name);
    if (previous !== undefined) {
      throw new DiskpipeError(
        "config-invalid",
        `format "${format.name}" is defined twice (by ${previous} and ${owner})`,
      );
    }
    this.#byName.set(format.name, format);
    this.#ownerOf.set(format.name, owner);
  }

  get(name: string): FormatDefinition | undefined {
    return this.#byName.get(name);
  }

  /** Like `get`, but a usage error naming the known formats when the name is unknown. */
  require(name: string): FormatDefinition {
    const format = this.#byName.get(name);
    if (!format) throw new DiskpipeError("usage", `unknown format "${name}" (known: ${this.names().join(", ")})`);
    return format;
  }

  /** The qemu driver of a conventional name (vhd → vpc, iso → raw). */
  driverOf(name: string): string {
    const driver = this.require(name).qemuDriver;
    if (!driver) throw new DiskpipeError("usage", `format "${name}" cannot be opened by qemu-img directly`);
    return driver;
  }

  /**
   * The conventional name of a qemu driver (vpc → vhd): the format named like the driver
   * (raw, not iso), else the first registered.
   */
  nameOfDriver(driver: string): string | undefined {
    if (this.#byName.get(driver)?.qemuDriver === driver) return driver;
    for (const format of this.#byName.values()) if (format.qemuDriver === driver) return format.name;
    return undefined;
  }

  /** The output extension of a format (`.qcow2`, `.vhd`, …), without the dot. */
  extensionOf(name: string): string {
    const format = this.require(name);
    return format.extension ?? format.name;
  }

  /** Whether qemu-img can write the format. */
  isWritable(name: string): boolean {
    const format = this.#byName.get(name);
    return Boolean(format?.qemuDriver) && format?.writable !== false;
  }

  /**
   * The largest file the header's format allows for its virtual size, if the format says
   * (see `FormatDefinition.maxFileSize`).
   */
  maxFileSizeOf(format: string, virtualSize: number, details: Record<string, unknown> = {}): number | undefined {
    return this.#byName.get(format)?.maxFileSize?.(virtualSize, details);
  }

  /**
   * The largest file any registered format allows for images of at most `maxSize` virtual
   * bytes: what a download may reach before its header is known.
   */
  maxFileSizeFor(maxSize: number): number {
    let largest = maxSize;
    for (const format of this.#byName.values()) largest = Math.max(largest, format.maxFileSize?.(maxSize, {}) ?? 0);
    return largest;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  all(): FormatDefinition[] {
    return [...this.#byName.values()];
  }

  /** Detectors contributed by registered formats, for the inspector. */
  detectors(): Detector[] {
    return this.all().flatMap(({ name, detect, detectPhase, detectorName, qemuDriver }) =>
      detect
        ? [
            {
              name: detectorName ?? name,
              phase: detectPhase ?? "head",
              detect,
              ...(qemuDriver !== undefined && { driver: qemuDriver }),
            },
          ]
        : [],
    );
  }

  /**
   * The conventional name a claim means: a format's name or one of its aliases, in any case
   * (`VPC` → `vhd`); other names lowercased.
   */
  canonicalName(name: string): string {
    const lower = name.trim().toLowerCase();
    for (const format of this.#byName.values()) {
      if (format.name.toLowerCase() === lower || format.aliases?.some((alias) => alias.toLowerCase() === lower))
        return format.name;
    }
    return lower;
  }

  /**
   * What the inspector takes from the registry for a claim: the claim under its conventional
   * name, what that format accepts, and every registered detector.
   */
  inspection(claim: string | undefined): Pick<InspectOptions, "claimed" | "accepts" | "detectors"> {
    const claimed = claim === undefined ? undefined : this.canonicalName(claim);
    const accepts = claimed ? this.get(claimed)?.accepts?.map((entry) => this.canonicalEntry(entry)) : undefined;
    return { ...(claimed && { claimed }), ...(accepts && { accepts }), detectors: this.detectors() };
  }

  /** An `accepts` entry with its format under the conventional name (` VPC ` → `vhd`, `Raw:GPT` → `raw:GPT`). */
  canonicalEntry(entry: string): string {
    const colon = entry.indexOf(":");
    return colon < 0
      ? this.canonicalName(entry)
      : `${this.canonicalName(entry.slice(0, colon))}${entry.slice(colon).trim()}`;
  }

  /**
   * The formats that are containers found by detection (a `detect` and an `unpack`): a claim
   * made before such a container is unpacked names what it holds.
   */
  detectedContainers(): string[] {
    return this.all()
      .filter((format) => format.detect && format.unpack)
      .map((format) => format.name);
  }

  /** The problem codes the registered formats' detectors report besides the core's. */
  problemCodes(): string[] {
    return [...new Set(this.all().flatMap((format) => format.problemCodes ?? []))];
  }
}
