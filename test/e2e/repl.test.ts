import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreProcess } from "../helpers/core-process";
import { freePort } from "../helpers/free-port";

const cwd = mkdtempSync(join(tmpdir(), "core-repl-"));

afterAll(async () => {
  await CoreProcess.killAll();
  rmSync(cwd, { recursive: true, force: true });
});

describe("core repl", () => {
  it("embedded: runs the node with a Moleculer REPL, answers commands, and quits cleanly releasing the data directory", async () => {
    const repl = new CoreProcess(["repl"], {
      cwd,
      stdin: "pipe",
      env: { CORE_NODE_ID: "repl-node", CORE_API_PORT: String(await freePort()), CORE_METRICS: "false" },
    });
    await repl.waitForOutput(/CORE node repl-node started/, 60_000);
    await repl.waitForOutput(/mol \$ /);
    repl.proc.stdin!.write("services\n");
    const table = await repl.waitForOutput(/║ api\s+│[^\n]*\n/);
    expect(table[0]).toMatch(/OK/);
    repl.proc.stdin!.write("tree\n");
    await repl.waitForOutput(/repl-node\n└─ root \(one_for_one, at most 5 restarts in 30 s\)/);
    repl.proc.stdin!.write("restart nobody\n");
    await repl.waitForOutput(/No live node runs an actor named nobody \[ACTOR_NOT_FOUND\]/);
    repl.proc.stdin!.write("quit\n");
    expect(await repl.wait()).toBe(0);

    // The store was closed on quit: a new process can open the directory at once.
    const again = new CoreProcess(["migrate"], { cwd });
    expect(await again.wait()).toBe(0);
    expect(again.output).toMatch(/nothing to apply/);
  });
});
