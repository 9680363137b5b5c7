import { CoreError } from "../errors/core-error";
import { DeadlineExceededError, ProviderTimeoutError } from "../errors/errors";
import { networkError } from "./provider-error";
import type { CallOptions } from "./types";

/**
 * One HTTP exchange with a provider, bounded in time: a single AbortSignal
 * that fires at the caller's abort, at the deadline or at the attempt's own
 * timeout, whichever comes first, and stays armed while a stream is read.
 * The abort reason is the typed error, so whatever fetch or the body reader
 * throws afterwards, `failure()` turns it back into that error.
 */
export class Attempt {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  private constructor(
    private readonly provider: string,
    private readonly options: CallOptions,
    private readonly secret: string | undefined,
  ) {}

  /** Throws at once when the caller already gave up or the deadline already passed: no request is sent. */
  static open(provider: string, options: CallOptions = {}, secret?: string): Attempt {
    const attempt = new Attempt(provider, options, secret);
    const { signal, deadline, timeoutMs } = options;
    if (signal?.aborted) throw signal.reason;
    const untilDeadline = deadline === undefined ? undefined : deadline - attempt.started;
    if (untilDeadline !== undefined && untilDeadline <= 0) throw attempt.deadlineError();
    const byTimeout = timeoutMs !== undefined && (untilDeadline === undefined || timeoutMs < untilDeadline);
    const waitMs = byTimeout ? timeoutMs : untilDeadline;
    if (waitMs !== undefined) {
      attempt.timer = setTimeout(() => attempt.controller.abort(byTimeout ? attempt.timeoutError() : attempt.deadlineError()), waitMs);
    }
    signal?.addEventListener("abort", attempt.onCallerAbort, { once: true });
    return attempt;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error to throw for `err`, caught anywhere in the attempt. */
  failure(err: unknown): unknown {
    if (this.controller.signal.aborted) return this.controller.signal.reason;
    if (err instanceof CoreError) return err;
    return networkError(this.provider, err, this.secret);
  }

  /** Ends the attempt; `abort` also drops the connection (a stream left early). */
  close(abort = false): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener("abort", this.onCallerAbort);
    if (abort && !this.controller.signal.aborted) this.controller.abort();
  }

  private readonly onCallerAbort = (): void => {
    clearTimeout(this.timer);
    this.controller.abort(this.options.signal?.reason);
  };

  private deadlineError(): CoreError {
    const elapsedMs = Date.now() - this.started;
    return new DeadlineExceededError(`${this.provider} did not answer before the deadline (${elapsedMs} ms into the attempt)`, {
      data: { provider: this.provider, deadline: this.options.deadline, elapsedMs },
    });
  }

  private timeoutError(): CoreError {
    return new ProviderTimeoutError(`${this.provider} did not answer within ${this.options.timeoutMs} ms`, {
      data: { provider: this.provider, timeoutMs: this.options.timeoutMs },
    });
  }
}
