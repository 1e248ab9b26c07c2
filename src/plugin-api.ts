/**
 * The part of diskpipe's public API a plugin or a configuration file needs, and nothing that
 * runs jobs: `definePlugin`, `defineFormat`, `defineConfig`, the errors and the types, and the
 * format author's kit (bounded reads of an image, field and checksum helpers). It loads
 * in a few milliseconds, where `diskpipe` (src/mod.ts) loads the pipeline, the spool and the
 * dashboard too; `diskpipe` re-exports all of it, so a plugin may import from either.
 *
 * @example
 * ```ts
 * import { defineFormat, definePlugin, UsageError } from "diskpipe/plugin";
 *
 * export const myFormat = () => definePlugin({ name: "my-format", formats: [defineFormat({ name: "myfmt", qemuDriver: "raw" })] });
 * ```
 * @module
 */
export { definePlugin, defineFormat } from "./core/plugin.ts";
export type {
  ConvertOption,
  FormatDefinition,
  Hook,
  HookName,
  Plugin,
  PluginHooks,
  PluginOption,
  UnpackedImage,
  ApplianceDisk,
  ApplianceOutput,
  UnpackedAppliance,
} from "./core/plugin.ts";
export { defineConfig, type UserConfig } from "./core/config.ts";
export {
  DiskpipeError,
  ImageRejectedError,
  UsageError,
  isDiskpipeError,
  toDiskpipeError,
  type ErrorCode,
  type Problem,
} from "./core/errors.ts";
export type { ArrivingImage, JobContext, JobOutput, LocalImage } from "./core/context.ts";
export type { ConvertPlan, JobSpec, PlanImage, QemuSecret } from "./core/job.ts";
export type {
  Detection,
  DetectContext,
  Detector,
  HeaderFacts,
  InspectOptions,
  InspectResult,
} from "./core/inspect/types.ts";
export { openFileReader, type ImageReader } from "./core/io/reader.ts";
export { regionReader, type ImageRegion } from "./core/io/image-region.ts";
export { NotRegularError, openRegular, readSmallFile, type OpenRegularOptions } from "./core/io/open-regular.ts";
export * from "./plugin-kit.ts";
