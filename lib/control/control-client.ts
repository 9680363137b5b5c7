import { createConnection, type Socket } from "node:net";
import { ConfigError, DeadlineExceededError, fromPlainError, InternalError, isPlainCoreError, UnavailableError, type CoreError } from "../errors";
import { parseControlResponse, type ControlRequestId } from "./control-message";
import { DEFAULT_CONTROL_TIMEOUT_MS } from "./control-server";
import { socketPathProblem } from "./control-socket-path";

export interface ControlClientOptions {
  /** How long one call may take; a little longer than the server's own deadline, so the server's answer usually comes first. */
  timeoutMs?: number;
  /** The longest answer line, in bytes; 16 MiB. */
  maxResponseBytes?: number;
}

const DEFAULT_CLIENT_TIMEOUT_MS = DEFAULT_CONTROL_TIMEOUT_MS + 5_000;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** What connecting to a socket file answers when no process listens there. */
const NOBODY_LISTENS = new Set(["ENOENT", "ECONNREFUSED"]);

interface Pending {
  resolve(value: unknown): void;
  reject(err: CoreError): void;
  timer: NodeJS.Timeout;
}

function connectionError(path: string, err: NodeJS.ErrnoException): CoreError {
  const code = err.code ?? "unknown";
  if (NOBODY_LISTENS.has(code)) return new UnavailableError(`No CORE node listens on ${path}.`, { data: { path, reason: code } });
  if (code === "EACCES" || code === "EPERM") {
    return new UnavailableError(`Permission denied on the control socket ${path}: run the command as the user that runs the node.`, { data: { path, reason: code } });
  }
  return new UnavailableError(`Cannot connect to the control socket ${path}: ${err.message}`, { data: { path, reason: code } });
}

/**
 * The client side of the control protocol (see control-message.ts): calls an
 * action on the node listening at a socket path and rebuilds a failure as
 * the CoreError it was, code and all.
 */
export class ControlClient {
  private readonly pending = new Map<ControlRequestId, Pending>();
  private partial = "";
  private nextId = 1;
  private failure: CoreError | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
    private readonly timeoutMs: number,
    private readonly maxResponseBytes: number,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (err: NodeJS.ErrnoException) => this.fail(new UnavailableError(`The control connection to ${path} failed: ${err.message}`, { data: { path, reason: err.code } })));
    socket.on("close", () => this.fail(new UnavailableError(`The node closed the control connection ${path} before answering (it may be stopping).`, { data: { path } })));
  }

  /** Connects, or throws an UnavailableError whose `data.reason` is the errno (ENOENT, ECONNREFUSED: no node listens). */
  static connect(path: string, options: ControlClientOptions = {}): Promise<ControlClient> {
    const problem = socketPathProblem(path);
    if (problem) return Promise.reject(new ConfigError(problem, { issues: [{ field: "CORE_DATA_DIR", message: problem }] }));
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const onError = (err: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(connectionError(path, err));
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        socket.off("error", onError);
        resolve(new ControlClient(socket, path, options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES));
      });
    });
  }

  /** Like `connect`, but undefined when no process listens at `path` (no socket file, or a stale one). */
  static async tryConnect(path: string, options: ControlClientOptions = {}): Promise<ControlClient | undefined> {
    try {
      return await ControlClient.connect(path, options);
    } catch (err) {
      const reason = (err as CoreError).data?.reason;
      if (err instanceof UnavailableError && typeof reason === "string" && NOBODY_LISTENS.has(reason)) return undefined;
      throw err;
    }
  }

  /** Calls `action`; resolves with its result or rejects with its error, rebuilt from its code. */
  call<T = unknown>(action: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DeadlineExceededError(`${action} got no answer from the node within ${this.timeoutMs} ms.`, { data: { action, path: this.path } }));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify({ id, action, params })}\n`);
    });
  }

  /** Closes the connection; calls still waiting fail. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.partial += chunk;
    for (let nl = this.partial.indexOf("\n"); nl !== -1; nl = this.partial.indexOf("\n")) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
    if (Buffer.byteLength(this.partial) > this.maxResponseBytes) {
      this.fail(new InternalError(`The node's answer is larger than ${this.maxResponseBytes} bytes.`));
      this.socket.destroy();
    }
  }

  private onLine(line: string): void {
    const response = parseControlResponse(line);
    if (!response) {
      this.fail(new InternalError("The node answered something that is not a control response."));
      this.socket.destroy();
      return;
    }
    if (response.id === null) {
      // An answer to no request: the server could not read what was sent, so every call waiting is lost.
      this.fail("error" in response && isPlainCoreError(response.error) ? fromPlainError(response.error) : new InternalError("The node could not read the request."));
      return;
    }
    const waiting = this.pending.get(response.id);
    if (!waiting) return;
    this.pending.delete(response.id);
    clearTimeout(waiting.timer);
    if ("error" in response) waiting.reject(isPlainCoreError(response.error) ? fromPlainError(response.error) : new InternalError("The node answered an error without a code."));
    else waiting.resolve(response.result);
  }

  private fail(err: CoreError): void {
    this.failure ??= err;
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      this.pending.delete(id);
      waiting.reject(err);
    }
  }
}
