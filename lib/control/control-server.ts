import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import {
  ConfigError,
  ConflictError,
  CoreError,
  DeadlineExceededError,
  ForbiddenError,
  fromPlainError,
  InternalError,
  isPlainCoreError,
  PayloadTooLargeError,
  UnavailableError,
} from "../errors";
import { parseControlRequest, type ControlRequest, type ControlResponse } from "./control-message";
import { socketPathProblem } from "./control-socket-path";

/** Runs one allowed action; what it resolves to is the answer's `result`. */
export type ControlHandler = (action: string, params: Record<string, unknown>) => Promise<unknown>;

export interface ControlServerOptions {
  /** The socket file; created with mode 0600, replaced when a crashed process left it behind. */
  path: string;
  /** The only actions a request may name; any other is refused (403). */
  actions: readonly string[];
  handle: ControlHandler;
  /** The longest request line, in bytes; 64 KiB. A longer one is answered 413 and its connection closed. */
  maxRequestBytes?: number;
  /** How long one request may run before it is answered DEADLINE_EXCEEDED; 30 s. */
  requestTimeoutMs?: number;
  /** A connection with nothing in flight is closed after this long without traffic; 60 s. */
  idleTimeoutMs?: number;
  /** Connections at once; 32. */
  maxConnections?: number;
  /** Turns what `handle` threw into a CoreError; default: CoreErrors as they are, anything else INTERNAL. */
  toError?: (err: unknown) => CoreError;
}

export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
export const DEFAULT_CONTROL_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_CONNECTIONS = 32;
/** How long a connection that is being closed may take to say goodbye before it is cut. */
const LINGER_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/** Owner read and write only: whoever may use the socket may read the data directory anyway. */
const SOCKET_MODE = 0o600;

interface Connection {
  socket: Socket;
  pending: number;
  /** Bytes of a line not yet ended by a newline. */
  partial: Buffer[];
  partialBytes: number;
  /** Refused (oversize): nothing more is read from it. */
  refused: boolean;
}

function defaultToError(err: unknown): CoreError {
  if (err instanceof CoreError) return err;
  if (isPlainCoreError(err)) return fromPlainError(err);
  return new InternalError("Internal error");
}

/** True when something accepts connections at `path` (a live process), false when nothing does. */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(true));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Clears the way for a new socket at `path`: a socket nobody listens on is stale (its process crashed). */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!isSocket) throw new ConflictError(`${path} exists and is not a socket: move it away so the control socket can be created there.`, { data: { path } });
  if (await probe(path)) throw new ConflictError(`Another process already listens on the control socket ${path}.`, { data: { path } });
  unlinkSync(path);
}

/** Calls `listen` with a umask that creates the socket as 0600 from its first moment (chmod afterwards leaves a window). */
function withPrivateUmask(listen: () => void): void {
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    // Worker threads may not change the umask: the chmod after listening still applies.
  }
  try {
    listen();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/**
 * The server side of the control protocol (see control-message.ts): a Unix
 * domain socket through which the `core` admin commands reach a running
 * embedded node instead of opening its data directory a second time. Only the
 * listed actions can be called; requests are bounded in size and time; a
 * malformed line is answered with an error and never stops the server.
 */
export class ControlServer {
  private readonly connections = new Set<Connection>();
  private readonly allowed: ReadonlySet<string>;
  private readonly maxRequestBytes: number;
  private readonly requestTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly toError: (err: unknown) => CoreError;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly options: ControlServerOptions,
  ) {
    this.allowed = new Set(options.actions);
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.toError = options.toError ?? defaultToError;
    server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Listens at `options.path`; a too-long path is a ConfigError, a live listener there a ConflictError. */
  static async listen(options: ControlServerOptions): Promise<ControlServer> {
    const problem = socketPathProblem(options.path);
    if (problem) throw new ConfigError(problem, { issues: [{ field: "CORE_DATA_DIR", message: problem }] });
    await removeStaleSocket(options.path);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.once("listening", () => {
        server.off("error", reject);
        resolve();
      });
      withPrivateUmask(() => server.listen(options.path));
    });
    try {
      chmodSync(options.path, SOCKET_MODE);
    } catch (err) {
      server.close();
      throw err;
    }
    return new ControlServer(server, options.path, options);
  }

  /**
   * Stops accepting; idle connections close at once, busy ones after their
   * last answer (bounded by the request timeout); the socket file is removed.
   * Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const conn of this.connections) if (conn.pending === 0) conn.socket.destroy();
      const cut = setTimeout(() => {
        for (const conn of this.connections) conn.socket.destroy();
      }, this.requestTimeoutMs + LINGER_MS);
      cut.unref();
      await closed;
      clearTimeout(cut);
      try {
        unlinkSync(this.path);
      } catch {
        // Already removed (Node unlinks a Unix socket it closes).
      }
    })();
    return this.closing;
  }

  private accept(socket: Socket): void {
    const conn: Connection = { socket, pending: 0, partial: [], partialBytes: 0, refused: false };
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(conn);
    // A client that goes away mid-answer is no error of the server's.
    socket.on("error", () => undefined);
    socket.on("close", () => this.connections.delete(conn));
    socket.setTimeout(this.idleTimeoutMs, () => {
      if (conn.pending === 0) socket.destroy();
    });
    socket.on("data", (chunk: Buffer) => this.onData(conn, chunk));
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.refused) return;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (conn.partialBytes + piece.length > this.maxRequestBytes) return this.refuseOversize(conn);
      const line = (conn.partial.length ? Buffer.concat([...conn.partial, piece]) : piece).toString("utf8");
      conn.partial = [];
      conn.partialBytes = 0;
      this.dispatch(conn, line);
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    if (conn.partialBytes + rest.length > this.maxRequestBytes) return this.refuseOversize(conn);
    // A copy: the chunk's buffer may be pooled.
    conn.partial.push(Buffer.from(rest));
    conn.partialBytes += rest.length;
  }

  /** The line cannot be read to its end, so the stream cannot be resynchronised: answer, then close. */
  private refuseOversize(conn: Connection): void {
    conn.refused = true;
    conn.partial = [];
    conn.partialBytes = 0;
    const error = new PayloadTooLargeError(`The request is larger than ${this.maxRequestBytes} bytes.`, { data: { limit: this.maxRequestBytes } });
    this.send(conn, { id: null, error: error.toJSON() });
    this.hangUp(conn);
  }

  private dispatch(conn: Connection, line: string): void {
    if (!line.trim()) return;
    const parsed = parseControlRequest(line);
    if (!("request" in parsed)) return this.send(conn, { id: parsed.id, error: parsed.error.toJSON() });
    const { request } = parsed;
    if (!this.allowed.has(request.action)) {
      const error = new ForbiddenError(`The control socket does not offer ${request.action}; it offers ${[...this.allowed].join(", ")}.`, {
        data: { action: request.action },
      });
      return this.send(conn, { id: request.id, error: error.toJSON() });
    }
    if (this.closing) {
      return this.send(conn, { id: request.id, error: new UnavailableError("The node is stopping.", { retryable: false }).toJSON() });
    }
    conn.pending++;
    void this.run(request).then((response) => {
      conn.pending--;
      this.send(conn, response);
      if (this.closing && conn.pending === 0) this.hangUp(conn);
    });
  }

  private async run(request: ControlRequest): Promise<ControlResponse> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceededError(`${request.action} did not answer within ${this.requestTimeoutMs} ms.`, { data: { action: request.action } })),
        this.requestTimeoutMs,
      );
    });
    try {
      const result = await Promise.race([Promise.resolve().then(() => this.options.handle(request.action, request.params)), deadline]);
      return { id: request.id, result: result === undefined ? null : result };
    } catch (err) {
      return { id: request.id, error: this.toError(err).toJSON() };
    } finally {
      clearTimeout(timer);
    }
  }

  private send(conn: Connection, response: ControlResponse): void {
    if (conn.socket.destroyed || !conn.socket.writable) return;
    let line: string;
    try {
      line = JSON.stringify(response);
    } catch {
      line = JSON.stringify({ id: response.id, error: new InternalError("The answer could not be encoded as JSON.").toJSON() });
    }
    conn.socket.write(`${line}\n`);
  }

  /** Ends the connection once what was written is flushed; cuts it if the peer does not close its side. */
  private hangUp(conn: Connection): void {
    conn.socket.end();
    setTimeout(() => conn.socket.destroy(), LINGER_MS).unref();
  }
}
