import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from "cockatiel";
import { CoreError, DeadlineExceededError } from "../errors";
import { CircuitOpenError } from "../errors";

/** The states as CORE reports them (REPL, metrics, events). */
export type BreakerState = "closed" | "open" | "half-open";

export interface ProviderBreakerOptions {
  /** Consecutive failed calls that open the breaker. */
  failures: number;
  /** How long it stays open before one trial call is let through (half-open). */
  halfOpenAfterMs: number;
}

/** Five failures in a row: a provider that is down, not one that had a bad second. */
export const DEFAULT_PROVIDER_BREAKER: ProviderBreakerOptions = { failures: 5, halfOpenAfterMs: 10_000 };

/**
 * Failures that say the endpoint is unwell: it is down, overloaded, rate
 * limiting, answering garbage or not answering in time. A refused request
 * (bad request, bad key) says nothing about the endpoint's health.
 */
export function countsAgainstEndpoint(err: unknown): boolean {
  if (!(err instanceof CoreError)) return true;
  if (err instanceof DeadlineExceededError) return true;
  return err.retryable || err.status === 429;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  // Isolated: held open by hand (not used by CORE yet).
  [CircuitState.Isolated]: "open",
};

/**
 * One circuit breaker around one provider endpoint (cockatiel's policy). While
 * it is open, calls fail at once with CIRCUIT_OPEN and the provider is not
 * called; after `halfOpenAfterMs` one trial call decides whether it closes.
 */
export class ProviderBreaker {
  private readonly policy: CircuitBreakerPolicy;

  constructor(
    readonly endpoint: string,
    options: ProviderBreakerOptions = DEFAULT_PROVIDER_BREAKER,
    onChange?: (state: BreakerState) => void,
  ) {
    this.policy = circuitBreaker(handleWhen(countsAgainstEndpoint), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    if (onChange) this.policy.onStateChange((state) => onChange(STATES[state]));
  }

  get state(): BreakerState {
    return STATES[this.policy.state];
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(fn);
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new CircuitOpenError(`The circuit breaker for ${this.endpoint} is open after repeated failures; not calling it until it half-opens`, {
          data: { endpoint: this.endpoint, state: this.state },
        });
      }
      throw err;
    }
  }
}
