// Bundles the prelude: node build.mjs OUTFILE (run by CMake at build time).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

await build({
  entryPoints: [fileURLToPath(new URL("./prelude.js", import.meta.url))],
  outfile: process.argv[2],
  bundle: true,
  format: "iife",
  target: "es2022",
  minify: true,
  charset: "ascii",
  legalComments: "none",
  logLevel: "warning",
});
