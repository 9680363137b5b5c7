import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface PackageInfo {
  name: string;
  version: string;
  root: string;
}

let cached: PackageInfo | undefined;

/** CORE's own package.json, found by walking up from this file (works from source and from dist/). */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "core") return (cached = { name: pkg.name, version: pkg.version ?? "0.0.0", root: dir });
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("CORE's package.json was not found above " + __dirname);
    dir = parent;
  }
}
