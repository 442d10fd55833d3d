// Reads the apt sources of a Debian/Ubuntu machine (no side effects; used by setup.mjs).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The archive URI (and keyring) that this machine's apt sources use for `codename`'s main suite,
 * read from deb822 `.sources` files and one-line `sources.list` entries; null when none names it.
 */
export function debianMirror(codename, dir = "/etc/apt") {
  const texts = [];
  const listDir = join(dir, "sources.list.d");
  if (existsSync(listDir)) {
    for (const f of readdirSync(listDir).sort()) {
      if (f.endsWith(".sources") || f.endsWith(".list"))
        texts.push([f, readFileSync(join(listDir, f), "utf8")]);
    }
  }
  if (existsSync(join(dir, "sources.list")))
    texts.unshift(["sources.list", readFileSync(join(dir, "sources.list"), "utf8")]);
  for (const [name, text] of texts) {
    if (name.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k) => new RegExp(`^${k}:\\s*(.+)$`, "mi").exec(stanza)?.[1]?.trim();
        if (/^Enabled:\s*no/im.test(stanza)) continue;
        const types = (field("Types") ?? "").split(/\s+/);
        const suites = (field("Suites") ?? "").split(/\s+/);
        const uri = (field("URIs") ?? "").split(/\s+/)[0];
        if (types.includes("deb") && suites.includes(codename) && uri) {
          return { uri, signedBy: field("Signed-By") ?? null };
        }
      }
    } else {
      for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s/.exec(`${line} `);
        if (m && m[3] === codename) {
          const signed = /signed-by=(\S+)/.exec(m[1] ?? "")?.[1] ?? null;
          return { uri: m[2], signedBy: signed };
        }
      }
    }
  }
  return null;
}
