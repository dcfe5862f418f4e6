import type { BuildOptions } from "esbuild";

/**
 * How the page's script (page.ts) is bundled for the browser: by the lab at
 * its start (lab/engine/build.ts), or by browser-client.ts run on its own.
 */
export const pageBundleOptions = (entry: string): BuildOptions => ({
  entryPoints: [entry],
  bundle: true,
  platform: "browser",
  format: "iife",
  write: false,
  logLevel: "error",
});
