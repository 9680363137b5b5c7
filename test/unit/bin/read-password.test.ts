import { PassThrough, Writable } from "node:stream";
import { firstLine, PasswordInputError, PasswordPromptCancelled, readNewPassword, type PasswordSource } from "../../../bin/read-password";

interface FakeTerminal {
  input: PasswordSource;
  output: Writable;
  /** Everything written to the screen. */
  screen(): string;
  /** Each setRawMode call, in order. */
  raw: boolean[];
}

/** A fake terminal that "types" the next entry whenever a prompt appears. */
function fakeTerminal(entries: string[]): FakeTerminal {
  const input = new PassThrough() as PassThrough & PasswordSource;
  const raw: boolean[] = [];
  input.isTTY = true;
  input.setRawMode = (mode: boolean) => raw.push(mode);
  let text = "";
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      if (/: $/.test(text) && entries.length) setImmediate(() => input.write(entries.shift()!));
      done();
    },
  });
  return { input, output, screen: () => text, raw };
}

describe("reading a new password", () => {
  it("at a terminal: asks twice with echo off, and shows nothing of what was typed", async () => {
    const t = fakeTerminal(["hunter2 hunter2\r", "hunter2 hunter2\r"]);
    await expect(readNewPassword(t.input, t.output)).resolves.toBe("hunter2 hunter2");
    expect(t.screen()).toBe("Password: \nRepeat the password: \n");
    expect(t.raw).toEqual([true, false, true, false]);
  });

  it("at a terminal: backspace edits; two different entries are refused", async () => {
    const t = fakeTerminal(["abcx\u007fd\r", "abce\r"]);
    await expect(readNewPassword(t.input, t.output)).rejects.toThrow(new PasswordInputError("The two passwords differ; nothing was changed."));
  });

  it("at a terminal: Ctrl-C cancels, and an empty entry is refused", async () => {
    const c = fakeTerminal(["abc\u0003"]);
    await expect(readNewPassword(c.input, c.output)).rejects.toBeInstanceOf(PasswordPromptCancelled);
    const e = fakeTerminal(["\r"]);
    await expect(readNewPassword(e.input, e.output)).rejects.toThrow("No password was entered.");
  });

  it("piped: the first line, without its line ending; spaces are part of it", async () => {
    const input = new PassThrough();
    input.end(" two words \r\nsecond line\n");
    await expect(readNewPassword(input, new PassThrough())).resolves.toBe(" two words ");
  });

  it("piped: a last line without a newline counts; an empty stdin is a usage error saying how", async () => {
    const one = new PassThrough();
    one.end("no newline");
    await expect(firstLine(one)).resolves.toBe("no newline");
    const empty = new PassThrough();
    empty.end();
    await expect(readNewPassword(empty, new PassThrough())).rejects.toThrow(/^No password on stdin: type it at a terminal, or pipe it in as the first line/);
  });
});
