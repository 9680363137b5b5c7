/**
 * The base of every error CORE raises on purpose.
 *
 * An error is data: a stable `code` that clients and scripts match on, the HTTP
 * `status` an edge answers with, whether a retry can help (`retryable`), and
 * structured `data`. Errors cross NATS as plain objects and are rebuilt from
 * their code on the caller's side (see `fromPlainError`), so nothing relies on
 * `instanceof` across processes.
 */
export type ErrorData = Record<string, unknown>;

export interface CoreErrorOptions {
  data?: ErrorData;
  cause?: unknown;
  /** Override the class default, e.g. a timeout that is known to be safe to retry. */
  retryable?: boolean;
}

/** The shape an error takes on the wire and in JSON logs. */
export interface PlainCoreError {
  name: string;
  code: string;
  /** Moleculer's field for the same identity; kept equal to `code`. */
  type?: string;
  status: number;
  message: string;
  retryable: boolean;
  data?: ErrorData;
  nodeID?: string;
  stack?: string;
}

export class CoreError extends Error {
  static readonly code: string = "INTERNAL";
  static readonly status: number = 500;
  static readonly retryable: boolean = false;

  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly data: ErrorData;
  /** Moleculer reads `type` for metrics labels and logs; it mirrors `code`. */
  readonly type: string;
  /** Set by the transport: the node the error came from. */
  nodeID?: string;

  constructor(message: string, options: CoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as typeof CoreError;
    this.name = ctor.name;
    this.code = ctor.code;
    this.type = ctor.code;
    this.status = ctor.status;
    this.retryable = options.retryable ?? ctor.retryable;
    this.data = options.data ?? {};
  }

  toJSON(): PlainCoreError {
    return {
      name: this.name,
      code: this.code,
      type: this.code,
      status: this.status,
      message: this.message,
      retryable: this.retryable,
      data: this.data,
      ...(this.nodeID ? { nodeID: this.nodeID } : {}),
    };
  }
}

/**
 * An error whose code this process does not know (a newer node sent it): it
 * keeps every field it arrived with instead of collapsing into INTERNAL.
 */
export class ForeignCoreError extends CoreError {
  override readonly code: string;
  override readonly type: string;
  override readonly status: number;
  override readonly retryable: boolean;

  constructor(plain: Pick<PlainCoreError, "code" | "status" | "message" | "retryable" | "data"> & { name?: string }) {
    super(plain.message, { data: plain.data ?? {} });
    this.name = plain.name ?? "CoreError";
    this.code = plain.code;
    this.type = plain.code;
    this.status = plain.status;
    this.retryable = plain.retryable;
  }
}
