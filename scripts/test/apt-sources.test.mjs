// node --test: the backports mirror comes from the machine's own apt sources.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { debianMirror } from "../apt-sources.mjs";

function aptDir(files) {
  const dir = mkdtempSync(join(tmpdir(), "apt-"));
  mkdirSync(join(dir, "sources.list.d"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test("deb822: the stanza whose Suites name the codename, not security or a third-party repo", () => {
  const dir = aptDir({
    "sources.list.d/debian.sources":
      "Types: deb\nURIs: http://mirror.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n" +
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
      "Types: deb\nURIs: http://mirror.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n",
    "sources.list.d/aaa-vendor.sources":
      "Types: deb\nURIs: https://vendor.example.com/apt\nSuites: nodistro\nComponents: main\n",
  });
  assert.deepEqual(debianMirror("bookworm", dir), {
    uri: "http://mirror.example.org/debian",
    signedBy: "/usr/share/keyrings/debian-archive-keyring.gpg",
  });
});

test("one-line sources.list, with options and comments; disabled stanzas are ignored", () => {
  const dir = aptDir({
    "sources.list":
      "# deb http://old.example.org/debian bookworm main\n" +
      "deb [arch=amd64 signed-by=/etc/keys/proxy.gpg] http://proxy.local:3142/debian bookworm main contrib\n",
    "sources.list.d/off.sources":
      "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n",
  });
  assert.deepEqual(debianMirror("bookworm", dir), {
    uri: "http://proxy.local:3142/debian",
    signedBy: "/etc/keys/proxy.gpg",
  });
});

test("null when no source names the codename", () => {
  const dir = aptDir({ "sources.list": "deb http://archive.ubuntu.com/ubuntu noble main\n" });
  assert.equal(debianMirror("bookworm", dir), null);
});
