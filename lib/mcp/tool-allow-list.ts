/**
 * Which of a server's tools CORE exposes, from the `allow` globs of its
 * configuration. A glob's `*` stands for any run of characters and `?` for
 * one (tool names are flat, so there is no path separator to respect); the
 * rest is literal. A glob starting with `!` excludes: `["*", "!delete_*"]`.
 * No `allow` at all admits every tool; only exclusions admit every tool but
 * those.
 */
export class ToolAllowList {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];

  constructor(readonly globs: readonly string[] | undefined) {
    const list = globs ?? ["*"];
    const positive = list.filter((g) => !g.startsWith("!"));
    this.include = (positive.length > 0 || list.length === 0 ? positive : ["*"]).map(globToRegExp);
    this.exclude = list.filter((g) => g.startsWith("!")).map((g) => globToRegExp(g.slice(1)));
  }

  allows(tool: string): boolean {
    return this.include.some((re) => re.test(tool)) && !this.exclude.some((re) => re.test(tool));
  }
}

/** A tool-name glob as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += ".*";
    else if (ch === "?") source += ".";
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}
