#!/usr/bin/env node
// Checks the packages as a user installs them: every packages/* workspace is packed once with
// `npm pack`, and that tarball is checked by
//   - attw (Are the Types Wrong?) with `--profile esm-only`: the packages are ESM only ("type":
//     "module", `import` conditions, no `require`), so CommonJS-from-ESM and node10 resolution
//     are out of scope; every ESM resolution (node16-esm, bundler) must find JavaScript and types;
//   - publint (strict: warnings count as problems);
//   - our own rules: a LICENSE file in the tarball, `repository` with this package's `directory`,
//     `engines.node`;
// and then all tarballs are unpacked into one empty project that imports every entry point and
// type-checks with `skipLibCheck: false` (what a strict TypeScript user gets; the project's lib
// has "DOM" because @webgpu/types needs it — documented in the kernels-webgpu README), then
// imports every entry point with plain Node and runs the packed `sage --help`.
//
// Usage: node scripts/check-packages.mjs [--no-build]
//   Builds first with `turbo run build` (cached: a no-op when dist/ is up to date) unless
//   --no-build. Prints one table row per package; exits 1 when any check fails, 2 on a set-up
//   error. Temporary files go to the OS temp folder and are removed afterwards.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (a !== "--no-build") {
    console.error(`check-packages: unknown option ${a}; expected none or --no-build`);
    process.exit(2);
  }
}

function run(cmd, cmdArgs, options = {}) {
  return spawnSync(cmd, cmdArgs, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
}

if (!args.has("--no-build")) {
  const b = run(bin("turbo"), ["run", "build", "--output-logs=errors-only"], {
    cwd: root,
    stdio: "inherit",
  });
  if (b.status !== 0) {
    console.error("check-packages: `turbo run build` failed; fix the build first");
    process.exit(2);
  }
}

const packagesDir = join(root, "packages");
const names = readdirSync(packagesDir)
  .filter((n) => existsSync(join(packagesDir, n, "package.json")))
  .sort();
const tmp = mkdtempSync(join(tmpdir(), "sage-check-packages-"));
const { publint } = await import("publint");
const { formatMessage } = await import("publint/utils");

const rows = [];
const details = [];
let failed = false;

try {
  for (const name of names) {
    const dir = join(packagesDir, name);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const problems = [];
    const row = {
      package: pkg.name,
      dir: name,
      files: "?",
      attw: "-",
      publint: "-",
      license: "-",
      meta: "-",
    };
    rows.push(row);

    const packed = run("npm", ["pack", "--json", "--pack-destination", tmp], { cwd: dir });
    if (packed.status !== 0) {
      problems.push(`npm pack failed:\n${packed.stderr}`);
      row.files = "pack failed";
    } else {
      const info = JSON.parse(packed.stdout)[0];
      const tarball = join(tmp, info.filename);
      const files = info.files.map((f) => f.path);
      row.files = String(files.length);
      row.tarball = tarball;
      for (const entry of Object.values(pkg.exports ?? {})) {
        const target = typeof entry === "string" ? entry : entry.import;
        if (target && !files.includes(target.replace(/^\.\//, ""))) {
          problems.push(`exports target ${target} is not in the tarball (run the build?)`);
        }
      }

      // A `/// <reference types="x" />` in shipped declarations needs x among the dependencies.
      for (const f of files.filter((p) => p.endsWith(".d.ts"))) {
        const text = readFileSync(join(dir, f), "utf8");
        for (const [, ref] of text.matchAll(/^\/\/\/ <reference types="([^"]+)" \/>/gm)) {
          if (!pkg.dependencies?.[ref] && !pkg.peerDependencies?.[ref]) {
            problems.push(`${f} references types "${ref}", which is not a dependency`);
          }
        }
      }

      row.license = files.includes("LICENSE") ? "ok" : "MISSING";
      if (row.license !== "ok") problems.push("no LICENSE file in the tarball");

      const meta = [];
      if (pkg.repository?.directory !== `packages/${name}` || !pkg.repository?.url) {
        meta.push(
          `repository: expected {url, directory: "packages/${name}"}, got ${JSON.stringify(pkg.repository)}`,
        );
      }
      if (!pkg.engines?.node) meta.push("engines.node missing");
      if (!pkg.license) meta.push("license missing");
      row.meta = meta.length === 0 ? "ok" : `${meta.length} problem(s)`;
      problems.push(...meta);

      const attw = run(bin("attw"), [tarball, "--profile", "esm-only", "--no-color", "--no-emoji"]);
      row.attw = attw.status === 0 ? "ok" : "FAIL";
      if (attw.status !== 0) problems.push(`attw --profile esm-only:\n${attw.stdout}${attw.stderr}`);

      const data = readFileSync(tarball);
      const lint = await publint({
        pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
        strict: true,
      });
      row.publint = lint.messages.length === 0 ? "ok" : `${lint.messages.length} message(s)`;
      for (const m of lint.messages) {
        problems.push(`publint ${m.type}: ${formatMessage(m, lint.pkg, { color: false }) ?? m.code}`);
      }
    }
    if (problems.length > 0) {
      failed = true;
      details.push(`${pkg.name}:\n  ${problems.join("\n  ")}`);
    }
  }

  // One empty project with every tarball unpacked into node_modules; third-party dependencies are
  // linked from this repository's node_modules (no registry access needed).
  const consumer = join(tmp, "consumer");
  const nm = join(consumer, "node_modules");
  mkdirSync(join(nm, "@sage"), { recursive: true });
  const rootNm = join(root, "node_modules");
  for (const entry of readdirSync(rootNm)) {
    if (entry === "@sage" || entry.startsWith(".")) continue;
    if (entry.startsWith("@")) {
      mkdirSync(join(nm, entry), { recursive: true });
      for (const sub of readdirSync(join(rootNm, entry))) {
        symlinkSync(join(rootNm, entry, sub), join(nm, entry, sub));
      }
    } else {
      symlinkSync(join(rootNm, entry), join(nm, entry));
    }
  }
  const imports = [];
  for (const [i, row] of rows.entries()) {
    if (!row.tarball) continue;
    const target = join(nm, row.package);
    mkdirSync(target, { recursive: true });
    const untar = run("tar", ["xzf", row.tarball, "-C", target, "--strip-components=1"]);
    if (untar.status !== 0) throw new Error(`tar failed on ${row.tarball}: ${untar.stderr}`);
    // Dependencies npm installed nested under this workspace (another version than the hoisted one).
    const nested = join(packagesDir, row.dir, "node_modules");
    if (existsSync(nested)) {
      for (const entry of readdirSync(nested)) {
        if (entry.startsWith(".")) continue;
        mkdirSync(join(target, "node_modules"), { recursive: true });
        symlinkSync(join(nested, entry), join(target, "node_modules", entry));
      }
    }
    const pkg = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
    for (const sub of Object.keys(pkg.exports ?? { ".": "" })) {
      if (sub.endsWith(".json")) continue;
      const spec = sub === "." ? row.package : `${row.package}/${sub.slice(2)}`;
      imports.push(`export * as m${i}_${imports.length} from "${spec}";`);
    }
  }
  writeFileSync(join(consumer, "package.json"), '{ "name": "consumer", "type": "module" }\n');
  writeFileSync(join(consumer, "index.ts"), `${imports.join("\n")}\n`);
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023", "DOM"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        types: ["node"],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      },
      files: ["index.ts"],
    }),
  );
  const tsc = run(bin("tsc"), ["-p", "tsconfig.json"], { cwd: consumer });
  // At run time, with plain Node (no source condition, no loader): every entry point imports from
  // its dist/ files, and the packed `sage` binary starts.
  const specs = imports.map((line) => /from "([^"]+)"/.exec(line)?.[1]);
  writeFileSync(
    join(consumer, "smoke.mjs"),
    `for (const spec of ${JSON.stringify(specs)}) await import(spec);\n`,
  );
  const smoke = run(process.execPath, ["smoke.mjs"], { cwd: consumer });
  const sage = run(process.execPath, [join(nm, "@sage/cli/bin/sage.js"), "--help"], { cwd: consumer });
  const runtimeOk = smoke.status === 0 && sage.status === 0 && sage.stdout.includes("train");
  if (!runtimeOk) {
    failed = true;
    details.push(
      `consumer project at run time (import every entry point; sage --help):\n${smoke.stderr}${sage.stdout}${sage.stderr}`,
    );
  }
  const consumerOk = tsc.status === 0;
  if (!consumerOk) {
    failed = true;
    details.push(`consumer project (every entry point, skipLibCheck: false):\n${tsc.stdout}${tsc.stderr}`);
  }

  const cols = ["package", "files", "attw", "publint", "license", "meta"];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => cells.map((c, j) => String(c).padEnd(width[j])).join("  ");
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
  console.log(
    `consumer type-check (${imports.length} entry points, skipLibCheck: false): ${consumerOk ? "ok" : "FAIL"}`,
  );
  console.log(`consumer run (import every entry point, sage --help): ${runtimeOk ? "ok" : "FAIL"}`);
  if (details.length > 0) console.log(`\n${details.join("\n\n")}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
