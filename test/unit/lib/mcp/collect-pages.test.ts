import { collectPages } from "../../../../lib/mcp/collect-pages";

/** A list served in pages of `size`, with numeric cursors, counting the requests. */
function pager(total: number, size: number) {
  const items = Array.from({ length: total }, (_, i) => i);
  const calls: Array<string | undefined> = [];
  const fetchPage = async (cursor: string | undefined) => {
    calls.push(cursor);
    const start = cursor ? Number(cursor) : 0;
    const end = start + size;
    return { items: items.slice(start, end), ...(end < total ? { nextCursor: String(end) } : {}) };
  };
  return { calls, fetchPage };
}

describe("collectPages", () => {
  it("follows nextCursor until the last page", async () => {
    const p = pager(23, 5);
    const result = await collectPages(p.fetchPage);
    expect(result).toEqual({ items: Array.from({ length: 23 }, (_, i) => i), pages: 5, truncated: false });
    expect(p.calls).toEqual([undefined, "5", "10", "15", "20"]);
  });

  it("reads one page when there is no cursor", async () => {
    const p = pager(3, 10);
    expect(await collectPages(p.fetchPage)).toEqual({ items: [0, 1, 2], pages: 1, truncated: false });
  });

  it("stops at the page cap and says so", async () => {
    const p = pager(100, 10);
    const result = await collectPages(p.fetchPage, 3);
    expect(result.items).toHaveLength(30);
    expect(result).toMatchObject({ pages: 3, truncated: true });
  });

  it("stops when a server repeats a cursor", async () => {
    let calls = 0;
    const result = await collectPages(async () => {
      calls++;
      return { items: [calls], nextCursor: "same" };
    });
    expect(result).toEqual({ items: [1, 2], pages: 2, truncated: true });
  });

  it("passes a failing page's error on", async () => {
    await expect(collectPages(async (cursor) => (cursor ? Promise.reject(new Error("page 2 failed")) : { items: [1], nextCursor: "2" }))).rejects.toThrow("page 2 failed");
  });
});
