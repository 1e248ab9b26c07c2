// A Stryker test runner for `npm run mutate`'s groups whose tests start the `diskpipe` command:
// Stryker's tap runner, minus the coverage of its dry run. The tap runner always reports
// coverage, measured in the test process only, so a mutant reached only inside a child
// process (the CLI under test) would be reported "NoCoverage" without ever being tested. With
// no coverage reported, Stryker runs every test file against every mutant.
import { commonTokens, declareFactoryPlugin, PluginKind, tokens } from "@stryker-mutator/api/plugin";
import { createTapTestRunnerFactory } from "@stryker-mutator/tap-runner";

/** The tap runner with `dryRun` reporting no mutant coverage. */
function createWholeTapRunner(injector) {
  const tap = createTapTestRunnerFactory()(injector);
  return {
    capabilities: () => tap.capabilities(),
    init: () => tap.init(),
    dispose: () => tap.dispose?.(),
    mutantRun: (options) => tap.mutantRun(options),
    dryRun: async (options) => {
      const result = await tap.dryRun(options);
      if (result.status === "complete") delete result.mutantCoverage;
      return result;
    },
  };
}
createWholeTapRunner.inject = tokens(commonTokens.injector);

export const strykerPlugins = [declareFactoryPlugin(PluginKind.TestRunner, "tap-whole", createWholeTapRunner)];
