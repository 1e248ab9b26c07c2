import { defineConfig } from "./src/mod.ts";

/**
 * diskpipe's default configuration: the built-in format plugins. The CLI loads it unless a
 * `plugins.config.ts` in the working directory or `--config FILE` names another.
 */
export default defineConfig({
  plugins: [],
  jobs: 2,
});
