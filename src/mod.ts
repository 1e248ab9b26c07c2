/**
 * diskpipe's public API: the same module on Node (built to `dist/`) and on Deno (run from
 * source). Plugins and scripts use only what is exported here (plugins may use the smaller
 * `diskpipe/plugin`); the CLI is part of diskpipe and imports its modules directly.
 *
 * @example
 * ```ts
 * import { convert, definePlugin } from "diskpipe";
 * await convert({ source: "in.vmdk", destination: "out.qcow2", to: "qcow2" });
 * ```
 * @module
 */
export { Pipeline, type BatchItem, type JobListener } from "./core/pipeline.ts";
export { createPipeline } from "./create-pipeline.ts";
export { inspectStream, inspectUrl, withStandardFormats } from "./standard-formats.ts";
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
export { defineConfig, resolveConfig, type ResolvedConfig, type UserConfig } from "./core/config.ts";
export {
  DiskpipeError,
  ImageRejectedError,
  UsageError,
  isDiskpipeError,
  toDiskpipeError,
  type ErrorCode,
  type Problem,
} from "./core/errors.ts";
export type { JobContext, JobOutput, LocalImage } from "./core/context.ts";
export {
  STAGES,
  type ConvertPlan,
  type JobEvent,
  type JobResult,
  type JobSpec,
  type PlanImage,
  type QemuSecret,
  type Stage,
} from "./core/job.ts";
export type { Detection, DetectContext, Detector, InspectOptions, InspectResult } from "./core/inspect/types.ts";
export type { ImageReader } from "./core/io/reader.ts";
export { regionReader, type ImageRegion } from "./core/io/image-region.ts";
export * from "./plugin-kit.ts";
export { openFileReader } from "./core/io/reader.ts";
export type { ImageStream } from "./core/io/inspect-stream.ts";
export type { FetchedImage, Sink, SinkDriver, SinkTarget, SourceDriver, StreamInspector } from "./core/io/types.ts";
export {
  defineImageService,
  type ImageInfo,
  type ImageService,
  type ImageServiceOptions,
  type ImageUploadMeta,
} from "./core/io/image-service.ts";
export { dirStore, type DirStoreRecord } from "./core/io/dir-store.ts";
export { GrowingFile } from "./core/io/growing-file.ts";
export { RateLimiter, type ThrottleMethod, type ThrottleOptions } from "./core/io/throttle.ts";
export { QemuImg, type QemuInfo, type QemuMeasure } from "./core/qemu-img.ts";
export { ContentHasher, parseContentHash, BLOCK_SIZE as CONTENT_HASH_BLOCK_SIZE } from "./core/content-hash/index.ts";
export { parseSize, formatSize } from "./core/size.ts";
export {
  convert,
  inspect,
  contentHash,
  batch,
  batchSpecs,
  defaultConfig,
  type BatchOptions,
  type ScriptOptions,
} from "./scripting.ts";
export { createSpool, watchSpool, parseSidecar, sidecarSchema, spoolLayout } from "./spool/index.ts";
export type {
  JobExecutor,
  Sidecar,
  Spool,
  SpoolError,
  SpoolEvent,
  SpoolJob,
  SpoolJobState,
  SpoolLayout,
  SpoolListener,
  SpoolOptions,
} from "./spool/index.ts";
export { serveDashboard, type ServeDashboardOptions } from "./dashboard/serve-dashboard.ts";
export { queueSource, type QueueSourceOptions } from "./dashboard/queue-source.ts";
export { spoolSource } from "./dashboard/spool-source.ts";
export type { DashboardJob, JobSource, SourceEntry, UploadTarget } from "./dashboard/source.ts";
export { createQueue, createWorker, messageSchema, queueExecutor } from "./queue/index.ts";
export type {
  AllowList,
  DiskpipeQueue,
  JournalEntry,
  QueueCounts,
  QueueEvent,
  QueueJobView,
  QueueMessage,
  QueueOptions,
  QueueProgress,
  QueueSettings,
  QueueSpec,
  QueueWorker,
  Submitted,
  WorkerEvent,
  WorkerOptions,
} from "./queue/index.ts";
