import { defineConfig } from "./src/plugin-api.ts";
import { ami, luks, ploop, xenserverOvf } from "./src/plugins/index.ts";

/**
 * diskpipe's default configuration: the built-in format plugins. The CLI loads it unless a
 * `plugins.config.ts` in the working directory or `--config FILE` names another.
 */
export default defineConfig({
  plugins: [xenserverOvf(), ami(), luks(), ploop()],
});
