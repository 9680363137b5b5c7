import { createHash } from "node:crypto";
import { z } from "zod";
import { toFieldIssues } from "../../config/issues";
import { ValidationError } from "../errors";

/** Longest question accepted, in characters (about 8 000 tokens: a long prompt, not a document dump). */
export const MAX_QUESTION_CHARS = 32_000;
/** Longest consult deadline a caller may ask for. */
export const MAX_CONSULT_TIMEOUT_MS = 600_000;
export const DEFAULT_CONSULT_TIMEOUT_MS = 60_000;

/** What String.prototype.trim removes (ECMAScript white space and line terminators), spelt out: `\s` means other characters in other languages' regular expressions. */
const BLANK = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
/**
 * A question that is not blank (some character trim keeps) and holds no U+0000
 * (PostgreSQL text cannot). A pattern rather than a refinement, so the OpenAPI
 * document states it; blank prefix, first other character, rest: linear to
 * match, whatever the input.
 */
const QUESTION = new RegExp(`^[${BLANK}]*[^${BLANK}\\u0000][^\\u0000]*$`);

const expertId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, { error: "an expert id (lower-case letters, digits, '_' or '-')" });

/** `circle.consult` parameters: the same schema validates REST, NATS and in-cluster calls. */
export const consultRequestSchema = z.strictObject({
  question: z
    .string({ error: "a question (text)" })
    .regex(QUESTION, { error: "a question that is not blank (and holds no U+0000)" })
    .max(MAX_QUESTION_CHARS, { error: `at most ${MAX_QUESTION_CHARS} characters` }),
  /** Instructions given to every expert before the question. */
  system: z.string().max(MAX_QUESTION_CHARS, { error: `at most ${MAX_QUESTION_CHARS} characters` }).optional(),
  /** Which experts to ask; default: every configured expert. */
  experts: z.array(expertId).min(1, { error: "at least one expert id (or leave experts out to ask all)" }).max(64).optional(),
  /** Answers needed; default: a majority of the experts asked. */
  minResponses: z.int().min(1, { error: "an integer of at least 1" }).optional(),
  /** The consult's deadline in ms from now. */
  timeoutMs: z.int().min(100).max(MAX_CONSULT_TIMEOUT_MS, { error: `an integer from 100 to ${MAX_CONSULT_TIMEOUT_MS}` }).optional(),
  /** Each expert's own bound in ms (tighter than the consult's). */
  expertTimeoutMs: z.int().min(100).max(MAX_CONSULT_TIMEOUT_MS).optional(),
  /** Once the quorum answered, how long the others may still take, in ms. */
  graceMs: z.int().min(0).max(MAX_CONSULT_TIMEOUT_MS).optional(),
  maxTokens: z.int().min(1).max(200_000, { error: "an integer from 1 to 200000" }).optional(),
  temperature: z.number().min(0).max(2, { error: "a number from 0 to 2" }).optional(),
  /** false: skip the cache (neither read nor written). */
  cache: z.boolean().optional(),
});

export type ConsultRequestInput = z.input<typeof consultRequestSchema>;
export type ConsultRequest = z.output<typeof consultRequestSchema>;

/** Validated parameters, or VALIDATION_FAILED (422) naming every failing field. */
export function parseConsultRequest(input: unknown): ConsultRequest {
  const parsed = consultRequestSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw new ValidationError("Invalid consult request", { issues: toFieldIssues(parsed.error.issues, input) });
}

/** The question as the cache sees it: the same text whatever its spacing and Unicode form (case is kept: it can change an answer). */
export function normaliseQuestion(question: string): string {
  return question.normalize("NFKC").trim().replace(/\s+/g, " ");
}

/**
 * Identical consults share one key: normalised question and system prompt, the
 * experts asked (in any order) and every parameter that changes an answer.
 */
export function consultKey(request: ConsultRequest, experts: readonly string[]): string {
  const material = JSON.stringify([
    normaliseQuestion(request.question),
    request.system ? normaliseQuestion(request.system) : null,
    [...experts].sort(),
    request.maxTokens ?? null,
    request.temperature ?? null,
    request.minResponses ?? null,
  ]);
  return createHash("sha256").update(material).digest("hex");
}
