#!/usr/bin/env node
// Idempotent system set-up, called by `npm start` and `npm test`.
// 1. WebGPU: probe for an adapter through Dawn's Node binding (in a child process, so a crash in a
//    driver cannot take this script down). If one exists, do nothing (well under a second).
//    Otherwise, on Debian/Ubuntu as root, install Mesa's software Vulkan driver (lavapipe):
//    `libvulkan1` + `mesa-vulkan-drivers` (Debian 12: from bookworm-backports, since bookworm's
//    own Mesa 22.3 is rejected by Dawn). Elsewhere print what to install and exit 1.
//    The backports source uses the mirror this machine's own Debian sources already use (a machine
//    behind a proxy or a local mirror keeps it), falling back to deb.debian.org only when none is set.
// 2. A font for the report's PNG charts (DejaVu Sans, Debian/Ubuntu `fonts-dejavu-core`): if
//    missing, install it on Debian/Ubuntu as root; elsewhere warn (charts are drawn without text).
// 3. `python3` (standard library only): the test suite checks the Python reference of the
//    token-dropout masks against the TypeScript one. Installed where missing on Debian/Ubuntu as
//    root; elsewhere a warning (and those tests fail in CI, never skip).
// 4. With `--browser` (the test command and `npm run playground`): Debian's `chromium`, for the
//    playground's real-browser test (headless, WebGPU through SwiftShader). Installed where missing
//    on Debian/Ubuntu as root; elsewhere a warning saying what to install (the test then fails in
//    CI, never skips). `npm start` does not need it and does not install it.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { debianMirror } from "./apt-sources.mjs";

const PROBE = `
import { create, globals } from "webgpu";
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) { process.exit(3); }
const i = adapter.info;
console.log(JSON.stringify({ vendor: i.vendor, architecture: i.architecture, description: i.description }));
process.exit(0);
`;

function probe() {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", PROBE], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status === 0) return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  return null;
}

function osRelease() {
  if (!existsSync("/etc/os-release")) return {};
  const out = {};
  for (const line of readFileSync("/etc/os-release", "utf8").split("\n")) {
    const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line);
    if (m) out[m[1]] = m[3];
  }
  return out;
}

function fail(msg) {
  console.error(`setup: ${msg}`);
  process.exit(1);
}

const FONT_PATHS = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

const os = osRelease();
const isDebianLike = os.ID === "debian" || os.ID === "ubuntu" || /debian|ubuntu/.test(os.ID_LIKE ?? "");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const pkgs = ["libvulkan1", "mesa-vulkan-drivers"];
const bookworm = os.ID === "debian" && os.VERSION_CODENAME === "bookworm";
const howTo = bookworm
  ? "enable bookworm-backports and run: apt-get install -t bookworm-backports libvulkan1 mesa-vulkan-drivers"
  : "apt-get install libvulkan1 mesa-vulkan-drivers (or your GPU's Vulkan driver)";

const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
const apt = (args) => execFileSync("apt-get", args, { stdio: "inherit", env });
let aptUpdated = false;
const aptInstall = (args) => {
  if (!aptUpdated) apt(["update", "-qq"]);
  aptUpdated = true;
  apt(["install", "-y", "-qq", ...args]);
};

if (!FONT_PATHS.some((p) => existsSync(p))) {
  if (isDebianLike && isRoot) {
    console.log("setup: installing fonts-dejavu-core (text in the report's PNG charts)…");
    aptInstall(["fonts-dejavu-core"]);
  } else {
    console.warn(
      "setup: no DejaVu Sans font found; report PNGs will have no text. Install fonts-dejavu-core.",
    );
  }
}

const hasPython = spawnSync("python3", ["-c", "import json, sys; sys.exit(0)"]).status === 0;
if (!hasPython) {
  if (isDebianLike && isRoot) {
    console.log("setup: installing python3 (the token-dropout mask reference the tests check)…");
    aptInstall(["python3"]);
  } else {
    console.warn("setup: python3 not found; the Python mask-reference tests will fail. Install python3.");
  }
}

const CHROMIUM_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
if (
  process.argv.includes("--browser") &&
  !process.env.SAGE_CHROMIUM &&
  !CHROMIUM_PATHS.some((p) => existsSync(p))
) {
  if (isDebianLike && isRoot) {
    console.log("setup: installing chromium (the playground's real-browser test)…");
    aptInstall(["chromium"]);
  } else {
    console.warn(
      "setup: no Chromium found; the playground's browser test will fail. Install Debian/Ubuntu's `chromium` " +
        "or point SAGE_CHROMIUM at a Chromium binary.",
    );
  }
}

const found = probe();
if (found) {
  if (process.env.SAGE_SETUP_VERBOSE) console.log(`setup: adapter ${JSON.stringify(found)}`);
  process.exit(0);
}

if (!isDebianLike || !isRoot) {
  fail(
    `no WebGPU adapter found. Expected a Vulkan driver (a GPU's, or Mesa's software 'lavapipe').\n` +
      `  On Debian/Ubuntu as root: ${howTo}\n` +
      `  Received: OS '${os.PRETTY_NAME ?? process.platform}', ${isRoot ? "root" : "not root"}.`,
  );
}

console.log(`setup: no WebGPU adapter; installing ${pkgs.join(" ")} (Mesa lavapipe)…`);
if (bookworm) {
  const src = "/etc/apt/sources.list.d/bookworm-backports.sources";
  if (!existsSync(src)) {
    const mirror = debianMirror("bookworm") ?? { uri: "http://deb.debian.org/debian", signedBy: null };
    const keyring = mirror.signedBy ?? "/usr/share/keyrings/debian-archive-keyring.gpg";
    console.log(`setup: adding bookworm-backports from ${mirror.uri} (the mirror of this machine's sources)`);
    writeFileSync(
      src,
      `Types: deb\nURIs: ${mirror.uri}\nSuites: bookworm-backports\nComponents: main\nSigned-By: ${keyring}\n`,
    );
  }
  aptUpdated = false; // the new backports source needs an update
  aptInstall(["-t", "bookworm-backports", ...pkgs]);
} else {
  aptInstall(pkgs);
}

const after = probe();
if (!after)
  fail(`installed ${pkgs.join(", ")} but Dawn still finds no adapter. Check 'vulkaninfo --summary'.`);
console.log(`setup: adapter ready: ${JSON.stringify(after)}`);
