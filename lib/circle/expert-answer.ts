/** One expert's answer, as `expert.<id>.ask` returns it and a consult reports it. */
export interface ExpertAnswer {
  /** The expert asked. */
  expertId: string;
  /** The expert that answered: itself, or one of its `fallback` experts. */
  answeredBy: string;
  provider: string;
  /** The model that answered, as the provider named it. */
  model: string;
  text: string;
  usage: { inputTokens: number; outputTokens: number };
  /** What the call cost in US dollars; 0 with `priced: false` when no price is configured. */
  costUsd: number;
  priced: boolean;
  /** Provider attempts it took (retries included), over the fallback chain. */
  attempts: number;
  latencyMs: number;
  finishReason: string;
}
