import { globToRegExp, ToolAllowList } from "../../../../lib/mcp/tool-allow-list";

describe("ToolAllowList", () => {
  it("admits every tool without allow globs", () => {
    const all = new ToolAllowList(undefined);
    expect(["echo", "get-sum", "x.y/z"].every((t) => all.allows(t))).toBe(true);
  });

  it("admits only what a glob matches: * is any run, ? one character, the rest literal", () => {
    const list = new ToolAllowList(["get-*", "echo", "read_?ile"]);
    expect(list.allows("get-sum")).toBe(true);
    expect(list.allows("get-")).toBe(true);
    expect(list.allows("echo")).toBe(true);
    expect(list.allows("read_file")).toBe(true);
    expect(list.allows("echo2")).toBe(false);
    expect(list.allows("xget-sum")).toBe(false);
    expect(list.allows("read_text_file")).toBe(false);
  });

  it("treats regular-expression characters literally", () => {
    const list = new ToolAllowList(["a.b", "c+(d)"]);
    expect(list.allows("a.b")).toBe(true);
    expect(list.allows("axb")).toBe(false);
    expect(list.allows("c+(d)")).toBe(true);
    expect(list.allows("ccd")).toBe(false);
  });

  it("excludes with !, after the inclusions; only exclusions admit everything else", () => {
    const list = new ToolAllowList(["*", "!delete_*", "!move_file"]);
    expect(list.allows("read_file")).toBe(true);
    expect(list.allows("delete_entities")).toBe(false);
    expect(list.allows("move_file")).toBe(false);
    const onlyExclusions = new ToolAllowList(["!trigger-*"]);
    expect(onlyExclusions.allows("echo")).toBe(true);
    expect(onlyExclusions.allows("trigger-long-running-operation")).toBe(false);
  });

  it("admits nothing with an empty list", () => {
    expect(new ToolAllowList([]).allows("echo")).toBe(false);
  });

  it("anchors globs at both ends", () => {
    expect(globToRegExp("echo").test("echo")).toBe(true);
    expect(globToRegExp("echo").test("an echo")).toBe(false);
    expect(globToRegExp("*sum").test("get-sum")).toBe(true);
    expect(globToRegExp("*sum").test("get-sum-2")).toBe(false);
  });
});
