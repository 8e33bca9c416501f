// Bundles every top-level module in js/src/ (one per view, plus the
// standalone host) into interp_widgets/static/<name>.js: self-contained,
// minified ES modules with no imports left to resolve at run time.
// Usage: node js/build.mjs [--watch]
import { build, context } from "esbuild";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const srcDir = join(root, "js", "src");
const outDir = join(root, "interp_widgets", "static");

const entryPoints = readdirSync(srcDir)
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
  .sort()
  .map((name) => join(srcDir, name));

const options = {
  entryPoints,
  outdir: outDir,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: true,
  splitting: false,
  legalComments: "none",
  metafile: true,
  logLevel: "info",
};

function check(metafile) {
  const problems = [];
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const imp of output.imports) problems.push(`${file} imports ${imp.path} at run time`);
  }
  for (const entry of entryPoints) {
    const out = join(outDir, entry.slice(srcDir.length + 1).replace(/\.ts$/, ".js"));
    if (!existsSync(out)) problems.push(`missing bundle ${out}`);
  }
  if (problems.length) {
    console.error(`front-end build failed:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

if (entryPoints.length === 0) {
  console.error(`no entry points in ${srcDir}`);
  process.exit(1);
}
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

if (process.argv.includes("--watch")) {
  const ctx = await context({ ...options, minify: false });
  await ctx.watch();
  console.log(`watching ${srcDir}`);
} else {
  const result = await build(options);
  check(result.metafile);
  console.log(`built ${entryPoints.length} bundle(s) into ${outDir}`);
}
