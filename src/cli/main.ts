import { Command, CommanderError } from "commander";
import { DiskpipeError } from "../core/errors.ts";
import type { ConvertOption } from "../core/plugin.ts";
import { compressOption, containerOption, EXIT_HELP, integer, quietOption, verboseOption } from "./options.ts";
import { addQueueCommands } from "./queue-commands.ts";

/**
 * Builds the `diskpipe` command line. Subcommands load their code only when run, so
 * `--help` starts fast.
 *
 * @example
 * ```ts
 * await buildProgram().parseAsync(["node", "diskpipe", "inspect", "disk.qcow2"]);
 * ```
 */
export function buildProgram(pluginOptions: readonly ConvertOption[] = []): Command {
  const program = new Command("diskpipe")
    .description("Fetch, inspect, verify, convert and upload untrusted virtual-machine disk images.")
    .version("0.1.0")
    .option("-c, --config <file>", "configuration file (default: ./plugins.config.ts, else the built-in one)")
    .addHelpText("after", EXIT_HELP)
    .showHelpAfterError("(run with --help for usage)")
    .enablePositionalOptions()
    .exitOverride();

  program
    .command("convert")
    .description("Convert an image (SRC DEST), or many into --out-dir, after inspecting and verifying each.")
    .argument("<sources...>", "SRC DEST, or SRC... with --out-dir (paths or http(s) URLs)")
    .requiredOption(
      "-t, --to <format>",
      "target format: raw, qcow2, vmdk, vhd, vhdx, vdi, luks, or one a loaded plugin defines",
    )
    .option("-f, --from <format>", "claimed source format; detection must agree (ami: raw or qcow2)")
    .addOption(containerOption())
    .option("-o, --out-dir <dir>", "convert every SRC into DIR as <stem>.<extension>")
    .option("-j, --jobs <n>", "jobs at once with --out-dir (default: the configuration's jobs, 4)", integer)
    .option("--max-size <size>", "largest virtual size accepted (bytes, or K/M/G/T)")
    .option("--checksum <algo:hex>", "sha256:HEX or sha512:HEX the source must match")
    .option(
      "--verify",
      "after converting, the source's and the output's content hashes must be equal (else verify-failed)",
    )
    .option("--content-hash <blk-sha256:hex>", "the content hash the source's disk must have (see diskpipe checksum)")
    .option("--subformat <name>", "target subformat (vmdk: streamOptimized…, vhd: fixed|dynamic, vhdx: fixed|dynamic)")
    .addOption(compressOption())
    .option("--force", "replace an existing destination file")
    .option("--json", "print one JSON result per image on stdout")
    .addOption(quietOption("no progress and no summary on stderr: only warnings and errors"))
    .addOption(verboseOption())
    .addHelpText(
      "after",
      `
Examples:
  diskpipe convert disk.vmdk disk.qcow2 --to qcow2
  diskpipe convert https://host/img.qcow2 img.raw --to raw --checksum sha256:…
  diskpipe convert a.vmdk b.vhd c.vdi --out-dir out --to qcow2 --jobs 2
  diskpipe convert chain.tgz out.qcow2 --from vhd --container ovf --to qcow2
  diskpipe convert cloud.qcow2.xz cloud.raw --to raw   (gz, xz, zst, bz2, tar: decompressed and inspected on the way)
  diskpipe convert web.ova out/ --to qcow2   (each disk to out/web-disk<N>.qcow2, the machine to out/web.ovf.json)${EXIT_HELP}`,
    )
    .action(async (sources: string[], options, command: Command) => {
      const { runConvert } = await import("./convert.ts");
      process.exitCode = await runConvert(sources, { ...command.optsWithGlobals(), ...options }, pluginOptions);
    });

  const convert = program.commands.find((command) => command.name() === "convert");
  for (const option of pluginOptions) addPluginOption(convert, option);

  program
    .command("inspect")
    .description("Inspect images natively (no qemu-img needed): format, virtual size, safety problems.")
    .argument("<images...>", "image files or http(s) URLs (only as much is downloaded as the verdict needs)")
    .option("--format <format>", "claimed format; a disagreement is a problem (format-mismatch)")
    .option("--max-size <size>", "largest virtual size accepted (bytes, or K/M/G/T)")
    .option("--json", "print JSON (an object for one file, an array for several)")
    .addHelpText("after", `\nExit codes: 0 all safe, 1 failure, 2 usage error, 3 any image rejected.`)
    .action(async (files: string[], options, command: Command) => {
      const { runInspect } = await import("./inspect.ts");
      process.exitCode = await runInspect(files, { ...command.optsWithGlobals(), ...options });
    });

  program
    .command("info")
    .description("qemu-img's view of an image, shown only after the native inspector accepted it.")
    .argument("<file>", "image file")
    .option("--format <format>", "claimed format")
    .option("--json", "print qemu-img's JSON")
    .addHelpText("after", EXIT_HELP)
    .action(async (file: string, options, command: Command) => {
      const { runInfo } = await import("./info.ts");
      process.exitCode = await runInfo(file, { ...command.optsWithGlobals(), ...options });
    });

  program
    .command("checksum")
    .description(
      "Print each image's content hash (blk-sha256:…), the same for a disk in any format, after inspecting it natively.",
    )
    .argument("<images...>", "image files")
    .option("--format <format>", "claimed format; detection must agree")
    .option("--max-size <size>", "largest virtual size accepted (bytes, or K/M/G/T)")
    .option("--json", "print one JSON object per image: { file, format, virtualSize, contentHash, ms }")
    .addHelpText(
      "after",
      `
The content hash: the disk's guest-visible bytes in 64 KiB blocks, each block's sha256 fed to
stream (block index mod 4), then sha256 over the 4 stream digests. Holes are never read.${EXIT_HELP}`,
    )
    .action(async (files: string[], options, command: Command) => {
      const { runChecksum } = await import("./checksum.ts");
      process.exitCode = await runChecksum(files, { ...command.optsWithGlobals(), ...options });
    });

  program
    .command("run")
    .description("Run a TypeScript or JavaScript script with `diskpipe` importable (no build step).")
    .argument("<script>", "the script file")
    .argument("[args...]", "arguments the script reads from process.argv.slice(2)")
    .passThroughOptions()
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Example:
  diskpipe run examples/batch.ts images/ out/ qcow2

The same file runs unchanged with \`deno run -A SCRIPT\` from a checkout.`,
    )
    .action(async (script: string, args: string[]) => {
      const { runScript } = await import("./run.ts");
      process.exitCode = await runScript(script, args);
    });

  program
    .command("watch")
    .description(
      "Convert whatever lands in SPOOL/incoming/<format>/ into SPOOL/done/, optionally serving a live dashboard.",
    )
    .argument("<spool>", "the spool directory (incoming/, work/, done/, failed/ and journal.jsonl are kept in it)")
    .option("--dashboard", "serve the dashboard")
    .option("--host <host>", "dashboard address (default 127.0.0.1; anything else needs a token)")
    .option("--port <port>", "dashboard port (default 8080)", (value: string) => (value === "0" ? 0 : integer(value)))
    .option(
      "--token <token>",
      "require this token on the dashboard (prefer the DISKPIPE_TOKEN environment variable: argv is visible to other users)",
    )
    .option("--max-upload <size>", "largest dashboard upload (default 64G)")
    .option("-j, --jobs <n>", "jobs at once (default: the configuration's jobs, 4)", integer)
    .option("--poll", "poll for new files instead of file-system events (network file systems)")
    .option(
      "--settle <ms>",
      "how long a new file's size must stay unchanged before it is claimed (default 1000)",
      integer,
    )
    .option(
      "--queue [url]",
      "convert on the workers of a shared queue (redis://HOST:PORT; alone: DISKPIPE_QUEUE, else queue.url in the configuration); every worker must see SPOOL at the same path",
    )
    .option("--json", "print one JSON line per job state change on stdout")
    .addOption(quietOption("on stderr only failed jobs, warnings and errors"))
    .addOption(verboseOption())
    .addHelpText(
      "after",
      `
A file in SPOOL/incoming/<format>/ is converted to <format>; a sidecar <name>.json may set from,
container, checksum, maxSize and options. Names starting with "." or ending in .part are ignored
until renamed. SIGINT/SIGTERM stop cleanly: running jobs are aborted and run again at the next start.`,
    )
    .action(async (spool: string, options, command: Command) => {
      const { runWatch } = await import("./watch.ts");
      process.exitCode = await runWatch(spool, { ...command.optsWithGlobals(), ...options });
    });

  program
    .command("dashboard")
    .description(
      "Serve the live dashboard of a shared queue: its jobs, their workers, progress, timings and errors, and retry.",
    )
    .option(
      "--queue [url]",
      "redis://HOST:PORT or rediss://… (alone or absent: DISKPIPE_QUEUE, else queue.url in the configuration)",
    )
    .option("--host <host>", "address (default 127.0.0.1; anything else needs a token)")
    .option("--port <port>", "port (default 8080)", (value: string) => (value === "0" ? 0 : integer(value)))
    .option(
      "--token <token>",
      "require this token (prefer the DISKPIPE_TOKEN environment variable: argv is visible to other users)",
    )
    .addOption(quietOption("only warnings and errors on stderr"))
    .addHelpText(
      "after",
      `
Examples:
  DISKPIPE_QUEUE=redis://queue.internal:6379 diskpipe dashboard --queue
  DISKPIPE_TOKEN=… diskpipe dashboard --queue redis://queue.internal:6379 --host 0.0.0.0 --port 8080${EXIT_HELP}`,
    )
    .action(async (options, command: Command) => {
      const { runDashboard } = await import("./dashboard.ts");
      process.exitCode = await runDashboard({ ...command.optsWithGlobals(), ...options, queue: options.queue ?? true });
    });

  addQueueCommands(program);

  for (const sub of program.commands) {
    sub.exitOverride().showHelpAfterError("(run with --help for usage)");
    // Accepted after the subcommand too, where people put it.
    if (sub.name() !== "run")
      sub.option("-c, --config <file>", "configuration file (default: ./plugins.config.ts, else the built-in one)");
  }
  return program;
}

function addPluginOption(convert: Command | undefined, option: ConvertOption): void {
  try {
    convert?.option(option.flags, option.description);
  } catch (error) {
    throw new DiskpipeError(
      "config-invalid",
      `a plugin's convert flag "${option.flags}" cannot be added: ${(error as Error).message}`,
    );
  }
}

/**
 * Runs the CLI with `argv` and returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = buildProgram(argv.includes("convert") ? await convertOptionsOf(argv) : []);
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      return ["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code) ? 0 : 2;
    }
    // Loaded here, so that `--help` does not load the message machinery.
    const { reportFailure } = await import("./fail.ts");
    return reportFailure(error, argv.includes("--json"));
  }
}

/**
 * The flags the configured plugins add to `convert`: the configuration (`-c/--config FILE`
 * anywhere in argv, else the usual places) is loaded before the command line is parsed.
 */
async function convertOptionsOf(argv: string[]): Promise<ConvertOption[]> {
  const at = argv.findIndex((arg) => arg === "-c" || arg === "--config" || arg.startsWith("--config="));
  const explicit =
    at < 0 ? undefined : argv[at]?.startsWith("--config=") ? argv[at]?.slice("--config=".length) : argv[at + 1];
  const { configuredPlugins } = await import("./pipeline.ts");
  return (await configuredPlugins(explicit)).flatMap((plugin) => plugin.convertOptions ?? []);
}
