import { builtinModules } from "node:module";
import type { Plugin } from "vite";

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith("_")));

/** Is `specifier` a Node built-in (`node:fs`, `fs`, `fs/promises`, …)? */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith("node:")) return true;
  return BUILTINS.has(specifier) || BUILTINS.has(specifier.split("/")[0]!);
}

/**
 * A Vite plugin that fails the build when a module of the bundle imports a Node built-in — which
 * Vite would otherwise replace with a stub that fails only when the page runs. Allowed: a
 * third-party package that maps the built-in away for browsers (`"browser": { "crypto": false }`
 * in its package.json, as `seedrandom` does), which resolves to Vite's empty module.
 */
export function noNodeBuiltins(): Plugin {
  return {
    name: "sage:no-node-builtins",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (!isNodeBuiltin(source)) return null;
      const fail = () =>
        this.error(
          `"${source}" imported by ${importer ?? "the entry"}: expected no Node built-in in a browser bundle (move file access behind a Node-only entry)`,
        );
      const ours = importer !== undefined && !importer.includes("/node_modules/");
      if (source.startsWith("node:") || ours) fail();
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      // "__vite-browser-external" alone: mapped to false by the package (empty module, intended).
      if (resolved && resolved.id !== "__vite-browser-external") fail();
      return resolved;
    },
  };
}
