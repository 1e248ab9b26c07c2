// The groups of `npm run mutate` (scripts/mutate.mjs): what each mutates and which tests judge it.
/**
 * What each group mutates and which tests judge it. `build`: some tests run the built command,
 * so the sandbox is built (the instrumented build carries the mutants into the child
 * processes). `cli`: built, and the mutated code runs mostly in those children, whose coverage
 * is not measured, so every test runs against every mutant; otherwise only the tests that
 * reached a mutant in the test process run it (one reached only in a child counts as surviving).
 */
export const GROUPS = {
  inspect: {
    mutate: [
      "src/core/inspect/**/*.ts",
      "!src/core/inspect/types.ts",
      "src/plugins/{qcow2,vmdk,vhd,vhdx,vdi,iso,ploop,luks}/detect.ts",
      "src/plugins/vmdk/{descriptor,sparse-header}.ts",
      "src/plugins/qcow2/extensions.ts",
      "src/plugins/vhdx/metadata.ts",
      "src/plugins/raw/partition.ts",
    ],
    // Every test file of the inspector but the two that run qemu-img on hundreds of images,
    // and the unit tests of the detectors that live in format plugins.
    tests: [
      "test/core/inspect/!(qemu-parity|property).test.ts",
      "test/plugins/{vmdk,vhd,vhdx,vdi,iso,raw}/*.test.ts",
      // Not compress.test.ts: it runs the built command, and this group's sandbox is not built.
      "test/plugins/qcow2/!(compress).test.ts",
      "test/plugins/ploop/detect.test.ts",
      "test/plugins/luks/detect*.test.ts",
      // The kit's tar header check (src/core/inspect/tar-header.ts) is judged by the compressed detector's tests.
      "test/plugins/compressed/detect*.test.ts",
    ],
  },
  stages: {
    mutate: ["src/core/stages/inspect.ts"],
    tests: [
      "test/core/stages/inspect.test.ts",
      "test/core/pipeline.test.ts",
      "test/core/stages/inspect-units.test.ts",
      "test/core/stages/second-opinion.test.ts",
    ],
  },
  "unpack-stage": {
    // The core's unpack stage (waits for a download still arriving, refuses an unpacked image outside the work
    // directory) and the chunks of a download handed on while it arrives.
    mutate: ["src/core/stages/unpack.ts", "src/core/io/arriving.ts"],
    tests: [
      "test/core/io/arriving.test.ts",
      "test/core/stages/unpack-units.test.ts",
      "test/core/stages/unpack.test.ts",
      // A byte range of the fetched container as the unpacked image, and the ranges refused.
      "test/core/stages/unpack-regions.test.ts",
    ],
  },
  "image-region": {
    // A byte range of a file seen as an image (an OVA's plain disk read where it lies), and the unpack stage's runs of it.
    mutate: ["src/core/io/image-region.ts"],
    tests: ["test/core/io/image-region.test.ts", "test/core/stages/unpack-regions.test.ts"],
  },
  "qemu-img": {
    mutate: [
      "src/core/qemu-img.ts",
      "src/core/qemu-img-args.ts",
      "src/core/qemu-img-process.ts",
      "src/core/qemu-img-output.ts",
    ],
    // The unit tests of each part first, then the adapter against the real qemu-img.
    tests: [
      "test/core/qemu-img-args.test.ts",
      "test/core/qemu-img-output.test.ts",
      "test/core/qemu-img-process.test.ts",
      "test/core/qemu-img-class.test.ts",
      "test/core/qemu-img.test.ts",
      "test/core/stages/second-opinion.test.ts",
      "test/core/io/throttle.test.ts",
    ],
  },
  http: {
    mutate: [
      "src/core/io/http.ts",
      "src/core/io/{http-download,download-errors}.ts",
      "src/core/io/http-headers.ts",
      "src/core/io/download-space.ts",
      "src/core/io/http-source.ts",
      "src/core/io/redirects.ts",
      "src/core/io/download-limits.ts",
    ],
    // The fast unit tests first: a mutant they kill never waits for the slow end-to-end ones.
    tests: [
      "test/core/io/http-headers.test.ts",
      "test/core/io/download-limits.test.ts",
      "test/core/io/redirects.test.ts",
      "test/core/io/redirect-policy.test.ts",
      "test/core/io/http-client.test.ts",
      "test/core/io/http-download.test.ts",
      "test/core/io/http-resume.test.ts",
      "test/core/io/http-download-flow.test.ts",
      "test/core/io/http-source-units.test.ts",
      "test/core/io/units.test.ts",
      "test/core/io/download-space.test.ts",
      "test/core/io/http-source.test.ts",
      "test/core/io/http-source-resume.test.ts",
      "test/core/io/inspect-stream.test.ts",
      "test/core/io/http-sink.test.ts",
      "test/core/io/download-bounds.test.ts",
    ],
    build: true,
  },
  compressed: {
    // The compressed container: magic detection, the one-member tar reader, the decoders, the unpack's bounds and clean-up.
    mutate: ["src/plugins/compressed/*.ts"],
    tests: [
      "test/plugins/compressed/detect*.test.ts",
      "test/plugins/compressed/tar*.test.ts",
      "test/plugins/compressed/writer.test.ts",
      "test/plugins/compressed/chunks.test.ts",
      "test/plugins/compressed/pace.test.ts",
      "test/plugins/compressed/decoders*.test.ts",
      "test/plugins/compressed/index-claims.test.ts",
      "test/plugins/compressed/unpack.test.ts",
    ],
    // unpack.test.ts sends SIGTERM to the built command mid-decompression.
    build: true,
  },
  "compressed-handover": {
    // A whole .zst handed over to zstd writing the file itself. direct.test.ts: real zstd, and the built command (SIGTERM).
    mutate: ["src/plugins/compressed/handover.ts", "src/plugins/compressed/direct.ts"],
    tests: ["direct-decode", "handover", "direct"].map((name) => `test/plugins/compressed/${name}.test.ts`),
    build: true,
  },
  // The hand-over judged by its unit tests only (a lower bound: direct.test.ts takes tens of seconds per mutant).
  "compressed-handover-units": {
    mutate: ["src/plugins/compressed/handover.ts"],
    tests: ["test/plugins/compressed/handover.test.ts"],
  },
  "compressed-parts": {
    // The compressed plugin's parts besides the tar reader and the unpack, judged by their in-process tests only (a lower
    // bound: the unpack's end-to-end tests, ~25 s per mutant, and the CLI tests, whose children are not measured, are left out).
    mutate: ["src/plugins/compressed/{detect,decoders,chunks,pace,writer,refusal,index}.ts"],
    tests: [
      "test/plugins/compressed/detect*.test.ts",
      "test/plugins/compressed/chunks.test.ts",
      "test/plugins/compressed/pace.test.ts",
      "test/plugins/compressed/decoders*.test.ts",
      "test/plugins/compressed/writer.test.ts",
      "test/plugins/compressed/expansion.test.ts",
      "test/plugins/compressed/index-claims.test.ts",
    ],
  },
  ova: {
    // The appliance reader: the descriptor's XML, hrefs and units, the manifest, the archive's members, the disk writers' bounds.
    mutate: ["src/plugins/ova/*.ts", "!src/plugins/ova/index.ts", "!src/plugins/ova/{beside,unpack-descriptor}.ts"],
    tests: [
      "test/plugins/ova/units.test.ts",
      "test/plugins/ova/xml.test.ts",
      "test/plugins/ova/manifest-lines.test.ts",
      "test/plugins/ova/descriptor-refusals.test.ts",
      "test/plugins/ova/hardware.test.ts",
      "test/plugins/ova/detect.test.ts",
      "test/plugins/ova/description.test.ts",
      "test/plugins/ova/descriptor.test.ts",
      "test/plugins/ova/manifest.test.ts",
      "test/plugins/ova/refusal.test.ts",
      "test/plugins/ova/disk-writer.test.ts",
      "test/plugins/ova/files.test.ts",
      "test/plugins/ova/extract.test.ts",
      "test/plugins/ova/extract-bounds.test.ts",
      "test/plugins/ova/extract-attacks.test.ts",
      "test/plugins/ova/unpack.test.ts",
      "test/plugins/ova/unpack-errors.test.ts",
    ],
  },
  "ova-in-place": {
    // An OVA's plain disk read where it lies in the archive: the member's place, its head and tail compared with the archive.
    mutate: ["src/plugins/ova/in-place.ts"],
    tests: ["test/plugins/ova/{in-place,files,extract,unpack,unpack-errors}.test.ts"],
  },
  "ova-beside": {
    // A plain .ovf with its files beside it: links and non-regular files refused, each file read at its size when opened.
    mutate: ["src/plugins/ova/beside.ts", "src/plugins/ova/unpack-descriptor.ts"],
    tests: [
      "test/plugins/ova/beside.test.ts",
      "test/plugins/ova/unpack-descriptor.test.ts",
      "test/plugins/ova/unpack-descriptor-attacks.test.ts",
    ],
    // One attack test runs the built `diskpipe inspect` on a descriptor.
    build: true,
  },
  appliance: {
    // An appliance's outputs: their names and checks, and the all-or-nothing conversion of its disks, side by side.
    mutate: ["src/core/appliance-paths.ts", "src/core/run-appliance.ts", "src/core/disk-jobs.ts"],
    // ova/unpack.test.ts: a --from claim every disk of an appliance must hold (an OVA's disks).
    tests: ["test/core/{appliance-paths,disk-jobs,run-appliance}.test.ts", "test/plugins/ova/unpack.test.ts"],
  },
  "set-aside": {
    // With --force, the files an appliance's outputs replace, kept aside until all are in place. Judged by its unit
    // tests only: run-appliance.test.ts's --verify test fails under this script's TMPDIR (qemu-nbd's socket path in
    // the job's work directory passes the 108-byte limit of a UNIX socket path).
    mutate: ["src/core/io/set-aside.ts"],
    tests: ["test/core/io/set-aside.test.ts"],
  },
  queue: {
    // What a queue writer controls: the validation of a message, and every reader of a value taken from Redis
    // (job fields within bounds, results, progress, journal lines, failure reasons).
    mutate: [
      "src/queue/message.ts",
      "src/queue/redis-values.ts",
      "src/queue/bounded-read.ts",
      "src/queue/journal.ts",
      "src/queue/failure.ts",
      "src/queue/job-view.ts",
      "src/queue/progress.ts",
      "src/queue/spool-executor.ts",
    ],
    // The unit tests first, then the ones with a real redis-server whose worker runs in the test process.
    tests: [
      "test/queue/redis-values-bounds.test.ts",
      "test/queue/progress-values.test.ts",
      "test/queue/spool-executor-events.test.ts",
      "test/queue/job-view.test.ts",
      "test/queue/message-values.test.ts",
      "test/queue/failure-journal.test.ts",
      "test/queue/bounded-text.test.ts",
      "test/queue/message.test.ts",
      "test/queue/redis-values.test.ts",
      "test/queue/progress.test.ts",
      "test/queue/spool-executor.test.ts",
      "test/queue/bounded-read-limits.test.ts",
      "test/queue/bounded-read.test.ts",
      "test/queue/retry.test.ts",
      "test/queue/worker.test.ts",
      "test/queue/fence.test.ts",
    ],
  },
  dashboard: {
    mutate: ["src/dashboard/guard.ts", "src/dashboard/auth.ts", "src/dashboard/serve-dashboard.ts"],
    tests: [
      "test/dashboard/guard.test.ts",
      "test/dashboard/auth.test.ts",
      "test/dashboard/serve-dashboard.test.ts",
      "test/dashboard/app.test.ts",
      "test/dashboard/app-names.test.ts",
    ],
  },
  watch: {
    mutate: ["src/cli/watch.ts", "src/cli/dashboard-access.ts"],
    tests: ["test/cli/watch.test.ts"],
    cli: true,
  },
  tar: {
    mutate: ["src/plugins/xenserver-ovf/extract.ts"],
    tests: [
      "test/plugins/xenserver-ovf/extract.test.ts",
      "test/plugins/xenserver-ovf/extract-bounds.test.ts",
      "test/plugins/xenserver-ovf/extract-sources.test.ts",
    ],
  },
  spool: {
    mutate: ["src/spool/claim.ts", "src/spool/recovery.ts", "src/spool/output-names.ts"],
    // The fast unit tests first: a mutant they kill never waits for the end-to-end ones.
    tests: [
      "test/spool/output-names.test.ts",
      "test/spool/claim.test.ts",
      "test/spool/error-file.test.ts",
      "test/spool/temporary-files.test.ts",
      "test/spool/recovery-steps.test.ts",
      "test/spool/retry-recovery.test.ts",
      "test/spool/recovery.test.ts",
      "test/spool/unrecorded-failure.test.ts",
      "test/spool/spool.test.ts",
    ],
  },
  trust: {
    mutate: [
      "src/core/io/pin-source.ts",
      "src/core/io/other-writers.ts",
      "src/core/io/work-root.ts",
      "src/core/io/open-regular.ts",
      "src/core/redact.ts",
      "src/core/quote.ts",
      "src/plugins/luks/passphrase.ts",
      "src/spool/sidecar.ts",
    ],
    // The fast unit tests first: a mutant they kill never waits for the slow end-to-end ones.
    tests: [
      "test/core/io/open-regular.test.ts",
      "test/core/io/other-writers.test.ts",
      "test/core/io/pin-source.test.ts",
      "test/core/io/pin-source-devices.test.ts",
      "test/core/io/work-root.test.ts",
      "test/plugins/luks/passphrase-units.test.ts",
      "test/spool/sidecar.test.ts",
      "test/core/redact.test.ts",
      "test/core/quote.test.ts",
      "test/core/io/path-source.test.ts",
      "test/plugins/luks/passphrase.test.ts",
      "test/spool/sidecar-trust.test.ts",
      "test/spool/recovery.test.ts",
    ],
  },
};
