import type { Consultation } from "../circle/consultation";
import type { ExpertAnswer } from "../circle/expert-answer";

/** OpenAI's finish reasons (`function_call` is legacy and never sent). */
export type OpenAiFinishReason = "stop" | "length" | "content_filter" | "tool_calls";

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One expert of the answer, as the `core` field reports it. */
export interface CoreExpertReport {
  id: string;
  status: "answered" | "failed" | "late";
  /** Another expert when a fallback answered in its place. */
  answeredBy?: string;
  /** The provider's model that answered. */
  model?: string;
  /** Similarity to the consensus, in [0, 1]. */
  agreement?: number;
  costUsd?: number;
  /** Why it did not answer. */
  code?: string;
}

/**
 * CORE's account of an answer, beside OpenAI's fields: which consultation
 * recorded it (`GET /api/v1/consultations/:id`), how much the experts agreed,
 * what it cost and what each expert did.
 */
export interface CoreCompletionInfo {
  consultationId: string;
  /** `consult`: the circle's consensus; `pass-through`: one expert's own answer. */
  mode: "consult" | "pass-through";
  /** Share of the experts' weight behind the consensus, in [0, 1]; null without a consensus. */
  agreement: number | null;
  /** The majority's short final answer, when the answers give one. */
  vote?: { answer: string; share: number };
  costUsd: number;
  /** Served from the consult cache (at no cost). */
  cached: boolean;
  experts: CoreExpertReport[];
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: "assistant"; content: string; refusal: null };
      logprobs: null;
      finish_reason: OpenAiFinishReason;
    },
  ];
  usage: OpenAiUsage;
  system_fingerprint: null;
  core: CoreCompletionInfo;
}

/** A completion's id: the consultation's, so one leads to the other. */
export function completionId(consultationId: string): string {
  return `chatcmpl-${consultationId}`;
}

/** Seconds since the epoch, as OpenAI's `created`. */
export function unixSeconds(iso: string | number): number {
  return Math.floor((typeof iso === "number" ? iso : Date.parse(iso)) / 1000);
}

/** CORE's finish reasons in OpenAI's words; `other` (a provider's reason without an equivalent) reads as `stop`. */
export function openAiFinishReason(reason: string | undefined): OpenAiFinishReason {
  switch (reason) {
    case "length":
      return "length";
    case "content_filter":
      return "content_filter";
    case "tool_use":
      return "tool_calls";
    default:
      return "stop";
  }
}

/**
 * Tokens as OpenAI counts them, for everything the answer took: a consult's
 * usage is the sum over every expert that answered (what was paid for), a
 * pass-through's the one expert's.
 */
export function openAiUsage(usage: Consultation["usage"]): OpenAiUsage {
  return { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens };
}

/** The answer a completed consultation gives: the consensus, else (a pass-through recorded without one) its first answer. */
export function answerOf(c: Consultation): { text: string; finishReason: OpenAiFinishReason } {
  const answers = new Map<string, ExpertAnswer>();
  for (const o of c.outcomes) if (o.status === "answered") answers.set(o.expertId, o.answer);
  if (c.consensus) {
    const { expertId, text } = c.consensus.consensus;
    return { text, finishReason: openAiFinishReason(answers.get(expertId)?.finishReason) };
  }
  const first = answers.values().next().value;
  return { text: first?.text ?? "", finishReason: openAiFinishReason(first?.finishReason) };
}

export function coreInfo(c: Consultation, mode: CoreCompletionInfo["mode"]): CoreCompletionInfo {
  const agreementOf = new Map(c.consensus?.experts.map((e) => [e.expertId, e.agreement]) ?? []);
  const vote = c.consensus?.vote;
  return {
    consultationId: c.id,
    mode,
    agreement: c.consensus?.agreement ?? null,
    ...(vote ? { vote: { answer: vote.answer, share: vote.share } } : {}),
    costUsd: c.costUsd,
    cached: c.cached === true,
    experts: c.outcomes.map((o): CoreExpertReport => {
      if (o.status !== "answered") return { id: o.expertId, status: o.status, code: o.error.code };
      const agreement = agreementOf.get(o.expertId);
      return {
        id: o.expertId,
        status: "answered",
        ...(o.answer.answeredBy !== o.expertId ? { answeredBy: o.answer.answeredBy } : {}),
        model: o.answer.model,
        ...(agreement !== undefined ? { agreement } : {}),
        costUsd: o.answer.costUsd,
      };
    }),
  };
}

/** A completed consultation as a `chat.completion` for the model the caller named. */
export function completionFrom(c: Consultation, model: string, mode: CoreCompletionInfo["mode"]): ChatCompletion {
  const { text, finishReason } = answerOf(c);
  return {
    id: completionId(c.id),
    object: "chat.completion",
    created: unixSeconds(c.createdAt),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
    usage: openAiUsage(c.usage),
    system_fingerprint: null,
    core: coreInfo(c, mode),
  };
}
