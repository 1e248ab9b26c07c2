// The few names the `@example` blocks under src/ use without declaring them, each always
// meaning the same thing (scripts/check-examples.mjs checks the examples with these in scope).
// An example that needs anything else declares it in its own code (`declare const job: RunningJob;`).

/** The image a detector or a format reads. */
declare const reader: import("../src/mod.ts").ImageReader;
/** The job a hook, source or sink is handed. */
declare const ctx: import("../src/mod.ts").JobContext;
/** A pipeline made by `createPipeline`. */
declare const pipeline: import("../src/mod.ts").Pipeline;
/** The plan of a job's conversion. */
declare const plan: import("../src/mod.ts").ConvertPlan;
/** A spool made by `createSpool`. */
declare const spool: import("../src/mod.ts").Spool;
