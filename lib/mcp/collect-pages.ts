/** One page of an MCP list answer (tools/list, resources/list, prompts/list, …). */
export interface McpPage<T> {
  items: T[];
  nextCursor?: string | undefined;
}

export interface CollectedPages<T> {
  items: T[];
  pages: number;
  /** True when the cap stopped the walk while the server still had a next cursor. */
  truncated: boolean;
}

/** Enough for any real catalogue; a server that keeps answering a cursor is not followed forever. */
export const DEFAULT_MAX_PAGES = 100;

/**
 * Follows `nextCursor` from the first page until the server gives none, at
 * most `maxPages` pages. A cursor seen twice ends the walk too (a server
 * stuck on one page would otherwise be read `maxPages` times over).
 */
export async function collectPages<T>(fetchPage: (cursor: string | undefined) => Promise<McpPage<T>>, maxPages: number = DEFAULT_MAX_PAGES): Promise<CollectedPages<T>> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await fetchPage(cursor);
    pages++;
    items.push(...page.items);
    const next = page.nextCursor;
    if (next === undefined || next === "") return { items, pages, truncated: false };
    if (pages >= maxPages || seen.has(next)) return { items, pages, truncated: true };
    seen.add(next);
    cursor = next;
  }
}
