import { spawn } from "node:child_process";

/** Runs a command to its end; resolves with its stdout, rejects with its output when it fails. */
export function runCommand(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited with ${code}:\n${out}${err}`))));
  });
}
