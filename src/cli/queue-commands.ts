import type { Command } from "commander";
import { compressOption, containerOption, EXIT_HELP, integer, quietOption, verboseOption } from "./options.ts";

/**
 * Adds the shared-queue commands, `worker` and `submit`, to the program. Like every command,
 * they load their code only when run.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * addQueueCommands(new Command("diskpipe"));
 * ```
 */
export function addQueueCommands(program: Command): void {
  program
    .command("worker")
    .description("Run jobs from a shared queue (Redis) with this machine's configuration, until SIGINT/SIGTERM.")
    .option(
      "--queue <url>",
      "redis://HOST:PORT or rediss://… (default: DISKPIPE_QUEUE, else queue.url in the configuration; a password belongs in those, not in argv)",
    )
    .option("-j, --jobs <n>", "jobs at once (default: the configuration's jobs, 4)", integer)
    .option("--name <name>", "how this worker is named in jobs and messages (default HOST-PID)")
    .option(
      "--allow <location...>",
      "directories and URL origins queued jobs may read and write (default: the configuration's queue.allow; else http(s) and store:// only)",
    )
    .option("--json", "print one JSON line per job event on stdout")
    .addOption(quietOption("on stderr only failed jobs, warnings and errors"))
    .addOption(verboseOption())
    .addHelpText(
      "after",
      `
Examples:
  DISKPIPE_QUEUE=redis://queue.internal:6379 diskpipe worker --jobs 2
  diskpipe worker --queue redis://queue.internal:6379 --allow /mnt/images

SIGINT/SIGTERM stop cleanly: no new jobs are taken, running ones are aborted (partial output removed)
and go back to the queue for another worker; exit 0.${EXIT_HELP}`,
    )
    .action(async (options, command: Command) => {
      const { runWorker } = await import("./worker.ts");
      process.exitCode = await runWorker({ ...command.optsWithGlobals(), ...options });
    });

  program
    .command("submit")
    .description(
      "Queue conversions (SRC DEST, or SRC... into --out-dir) for the workers of a shared queue; prints the job ids.",
    )
    .argument(
      "<sources...>",
      "SRC DEST, or SRC... with --out-dir: URLs, or paths every worker sees (made absolute here)",
    )
    .requiredOption("-t, --to <format>", "target format")
    .option(
      "--queue <url>",
      "redis://HOST:PORT or rediss://… (default: DISKPIPE_QUEUE, else queue.url in the configuration)",
    )
    .option("-f, --from <format>", "claimed source format; detection must agree")
    .addOption(containerOption())
    .option("-o, --out-dir <dir>", "convert every SRC into DIR as <stem>.<extension>")
    .option("--max-size <size>", "largest virtual size accepted (it can only lower the workers' own)")
    .option("--checksum <algo:hex>", "sha256:HEX or sha512:HEX the source must match")
    .option("--subformat <name>", "target subformat")
    .addOption(compressOption())
    .option("--id <id>", "the job's id (default: derived from the job, so the same job is never queued twice)")
    .option("--wait", "follow the jobs to their end and exit with their code (0, 1, 2, 3)")
    .option("--json", "print one JSON line per job on stdout")
    .addOption(quietOption("no progress with --wait: only failures"))
    .addHelpText(
      "after",
      `
Examples:
  diskpipe submit https://images.example.com/a.vmdk /mnt/shared/out/a.qcow2 --to qcow2 --wait
  DISKPIPE_QUEUE=rediss://queue.internal:6380 diskpipe submit /mnt/shared/in/*.vmdk --out-dir /mnt/shared/out --to raw${EXIT_HELP}`,
    )
    .action(async (sources: string[], options, command: Command) => {
      const { runSubmit } = await import("./submit.ts");
      process.exitCode = await runSubmit(sources, { ...command.optsWithGlobals(), ...options });
    });
}
