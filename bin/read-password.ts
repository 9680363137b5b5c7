import type { Readable, Writable } from "node:stream";

/** The input cannot give a password (nothing piped in, two different entries): a usage error. */
export class PasswordInputError extends Error {
  override readonly name = "PasswordInputError";
}

/** Ctrl-C at the prompt. */
export class PasswordPromptCancelled extends Error {
  override readonly name = "PasswordPromptCancelled";
}

/** A terminal's stdin, as far as reading without echo needs it. */
export type PasswordSource = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

/** More than any acceptable password; a piped first line is not read past this. */
const MAX_LINE_CHARS = 64 * 1024;

const CTRL_C = "\u0003";
const CTRL_D = "\u0004";
const BACKSPACE = new Set(["\u007f", "\b"]);

/**
 * A new password, never from the command line (it would sit in the shell's
 * history and in `ps`): at a terminal, asked twice without echo; piped, the
 * first line of stdin.
 */
export async function readNewPassword(input: PasswordSource = process.stdin, prompts: Writable = process.stderr): Promise<string> {
  if (input.isTTY && input.setRawMode) {
    const first = await readHidden(input, prompts, "Password: ");
    if (!first) throw new PasswordInputError("No password was entered.");
    const second = await readHidden(input, prompts, "Repeat the password: ");
    if (first !== second) throw new PasswordInputError("The two passwords differ; nothing was changed.");
    return first;
  }
  const line = await firstLine(input);
  if (!line) {
    throw new PasswordInputError("No password on stdin: type it at a terminal, or pipe it in as the first line, e.g. printf '%s\\n' \"$PASSWORD\" | core users create ...");
  }
  return line;
}

/** The first line of a stream (without its line ending); "" when the stream ends empty. */
export async function firstLine(input: Readable): Promise<string> {
  let text = "";
  for await (const chunk of input) {
    text += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
    if (text.includes("\n") || text.length > MAX_LINE_CHARS) break;
  }
  const end = text.indexOf("\n");
  return (end === -1 ? text : text.slice(0, end)).replace(/\r$/, "");
}

/** One line typed at a terminal in raw mode, shown as nothing at all. */
function readHidden(input: PasswordSource, prompts: Writable, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (then: () => void) => {
      input.off("data", onData);
      input.setRawMode!(false);
      input.pause();
      prompts.write("\n");
      then();
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === "string" ? chunk : chunk.toString("utf8")) {
        if (ch === CTRL_C) return finish(() => reject(new PasswordPromptCancelled("Cancelled.")));
        if (ch === "\r" || ch === "\n" || ch === CTRL_D) return finish(() => resolve(value));
        if (BACKSPACE.has(ch)) value = [...value].slice(0, -1).join("");
        else if (ch >= " ") value += ch;
      }
    };
    prompts.write(prompt);
    input.setRawMode!(true);
    input.on("data", onData);
    input.resume();
  });
}
