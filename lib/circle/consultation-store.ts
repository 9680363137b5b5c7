import type { ConsensusResult } from "../consensus";
import { GroupCommit } from "../store/group-commit";
import { numberFrom, type Store } from "../store/store";
import type { Consultation } from "./consultation";
import { settled, writeAfterAnswer } from "./consultation-writes";
import type { ExpertOutcome, OutcomeError } from "./fan-out";

export interface ConsultationFilter {
  principal?: string;
  /** An expert that was asked. */
  expert?: string;
  /** ISO times, inclusive from, exclusive to. */
  from?: string;
  to?: string;
  status?: Consultation["status"];
}

export interface ConsultationPage {
  items: ConsultationSummary[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

/** A list row: enough to choose one, without every expert's full text. */
export interface ConsultationSummary {
  id: string;
  principal: string;
  question: string;
  experts: string[];
  status: Consultation["status"];
  agreement: number | null;
  answered: number;
  costUsd: number;
  durationMs: number;
  createdAt: string;
}

type Row = Record<string, unknown>;

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

/** The cursor is the last row's (created_at, id): stable under concurrent inserts. */
function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Years PostgreSQL's timestamptz reads in this notation (it has no year 0, and no signed six-digit years). */
const EARLIEST = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");
/** A time exactly as Date.toISOString writes it (what encodeCursor gets from iso()). */
function isIsoInstant(text: unknown): text is string {
  if (typeof text !== "string") return false;
  const at = Date.parse(text);
  return at >= EARLIEST && at <= LATEST && new Date(at).toISOString() === text;
}

function decodeCursor(cursor: string): [string, string] | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    // Both parts reach SQL as ::timestamptz and ::uuid: a cursor not made by encodeCursor must fail here, not there (a 500).
    if (Array.isArray(value) && value.length === 2 && isIsoInstant(value[0]) && typeof value[1] === "string" && UUID.test(value[1])) return [value[0], value[1]];
  } catch {
    // fall through: an invalid cursor
  }
  return undefined;
}

export class InvalidCursorError extends Error {}

/** One GroupCommit per store, whichever ConsultationStore (services each make their own) writes. */
const groupCommits = new WeakMap<Store, GroupCommit<Consultation>>();

/** A consultation's expert_responses rows, as jsonb_to_recordset reads them. */
function responseRows(c: Consultation): Array<Record<string, unknown>> {
  return c.outcomes.map((o, position) => {
    const a = o.status === "answered" ? o.answer : undefined;
    return {
      consultation_id: c.id,
      position,
      expert_id: o.expertId,
      status: o.status,
      answered_by: a?.answeredBy ?? null,
      provider: a?.provider ?? null,
      model: a?.model ?? null,
      text: a?.text ?? null,
      error: o.status === "answered" ? null : o.error,
      input_tokens: a?.usage.inputTokens ?? 0,
      output_tokens: a?.usage.outputTokens ?? 0,
      cost_usd: (a?.costUsd ?? 0).toFixed(10),
      priced: a?.priced ?? false,
      attempts: a?.attempts ?? 0,
      latency_ms: Math.round(o.latencyMs),
      finish_reason: a?.finishReason ?? null,
    };
  });
}

/**
 * Consultations, their outcomes and usage rows in one statement (atomic by
 * itself): the rows travel as three JSON arrays unpacked by the database, one
 * round trip however many consultations and experts.
 */
async function saveBatch(store: Store, batch: readonly Consultation[]): Promise<void> {
  const consultations = batch.map((c) => ({
    id: c.id,
    principal: c.principal,
    question: c.question,
    system: c.system ?? null,
    experts: c.experts,
    params: c.params,
    status: c.status,
    cache_key: c.cacheKey,
    consensus: c.consensus ?? null,
    agreement: c.consensus?.agreement ?? null,
    error: c.error ?? null,
    answered: c.quorum.answered,
    min_responses: c.quorum.required,
    input_tokens: c.usage.inputTokens,
    output_tokens: c.usage.outputTokens,
    cost_usd: c.costUsd.toFixed(10),
    duration_ms: Math.round(c.durationMs),
    node_id: c.nodeId,
    created_at: c.createdAt,
    cached_from: c.cachedFrom ?? null,
  }));
  const responses: Array<Record<string, unknown>> = [];
  const usage: Array<Record<string, unknown>> = [];
  for (const c of batch) {
    for (const r of responseRows(c)) {
      responses.push(r);
      // A cached answer cost nothing: only consults that asked the experts record usage.
      if (!c.cached && r.status === "answered") usage.push({ ...r, at: c.createdAt, principal: c.principal });
    }
  }
  await store.query(
    `WITH consultation AS (
       INSERT INTO consultations (id, principal, question, system, experts, params, status, cache_key, consensus, agreement, error,
         answered, min_responses, input_tokens, output_tokens, cost_usd, duration_ms, node_id, created_at, cached_from)
       SELECT c.id, c.principal, c.question, c.system, ARRAY(SELECT jsonb_array_elements_text(c.experts)), c.params, c.status, c.cache_key,
         c.consensus, c.agreement, c.error, c.answered, c.min_responses, c.input_tokens, c.output_tokens, c.cost_usd, c.duration_ms, c.node_id,
         c.created_at, c.cached_from
         FROM jsonb_to_recordset($1::jsonb) AS c(id uuid, principal text, question text, system text, experts jsonb, params jsonb, status text,
           cache_key text, consensus jsonb, agreement double precision, error jsonb, answered integer, min_responses integer,
           input_tokens integer, output_tokens integer, cost_usd numeric, duration_ms integer, node_id text, created_at timestamptz, cached_from uuid)
     ), responses AS (
       INSERT INTO expert_responses (consultation_id, position, expert_id, status, answered_by, provider, model, text, error,
         input_tokens, output_tokens, cost_usd, priced, attempts, latency_ms, finish_reason)
       SELECT r.* FROM jsonb_to_recordset($2::jsonb) AS r(consultation_id uuid, position integer, expert_id text, status text,
         answered_by text, provider text, model text, text text, error jsonb, input_tokens integer, output_tokens integer,
         cost_usd numeric, priced boolean, attempts integer, latency_ms integer, finish_reason text)
     )
     INSERT INTO usage_records (at, principal, consultation_id, expert_id, provider, model, input_tokens, output_tokens, cost_usd, priced)
     SELECT u.at, u.principal, u.consultation_id, u.answered_by, u.provider, u.model, u.input_tokens, u.output_tokens, u.cost_usd, u.priced
       FROM jsonb_to_recordset($3::jsonb) AS u(at timestamptz, principal text, consultation_id uuid, answered_by text, provider text, model text,
         input_tokens integer, output_tokens integer, cost_usd numeric, priced boolean)`,
    [JSON.stringify(consultations), JSON.stringify(responses), JSON.stringify(usage)],
    { prepare: "core_consultations_save" },
  );
}

/** Consultations, their experts' parts and the usage they caused, in the store (PostgreSQL or PGlite). */
export class ConsultationStore {
  constructor(private readonly store: Store) {}

  /**
   * Writes a consultation, its outcomes and its usage rows, committed with
   * the WAL flushed: an answer given means a consultation that survives a
   * crash of the database server too (with the flush skipped, chaos runs lost
   * the consult answered at PostgreSQL's SIGQUIT). Writes of one store go
   * through one GroupCommit: under load, the consultations that arrive while
   * others are being written share one statement and one commit.
   */
  save(c: Consultation): Promise<void> {
    let commits = groupCommits.get(this.store);
    if (!commits) groupCommits.set(this.store, (commits = new GroupCommit((batch) => saveBatch(this.store, batch))));
    return commits.write(c);
  }

  /**
   * `save`, after the answer: resolves at once (unless too many writes are in
   * flight) and writes the row on the next turn; this node's reads wait for it
   * (lib/circle/consultation-writes.ts). For the OpenAI pass-through only
   * (services/openai.service.ts says what that keeps and what it gives up).
   */
  saveAfterAnswer(c: Consultation, onFailure: (id: string, err: unknown) => void): Promise<void> {
    return writeAfterAnswer(this.store, c.id, () => this.save(c), onFailure);
  }

  async get(id: string): Promise<Consultation | undefined> {
    await settled(this.store, id);
    const { rows } = await this.store.query<Row>(`SELECT * FROM consultations WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return undefined;
    const parts = await this.store.query<Row>(`SELECT * FROM expert_responses WHERE consultation_id = $1 ORDER BY position`, [id]);
    const outcomes = parts.rows.map(toOutcome);
    return {
      id: String(row.id),
      principal: String(row.principal),
      question: String(row.question),
      ...(row.system ? { system: String(row.system) } : {}),
      experts: row.experts as string[],
      status: row.status as Consultation["status"],
      ...(row.consensus ? { consensus: row.consensus as ConsensusResult } : {}),
      outcomes,
      quorum: { required: numberFrom(row.min_responses), answered: numberFrom(row.answered) },
      usage: { inputTokens: numberFrom(row.input_tokens), outputTokens: numberFrom(row.output_tokens) },
      costUsd: numberFrom(row.cost_usd),
      ...(row.error ? { error: row.error as Consultation["error"] & object } : {}),
      durationMs: numberFrom(row.duration_ms),
      nodeId: String(row.node_id),
      createdAt: iso(row.created_at),
      params: row.params as Record<string, unknown>,
      cacheKey: String(row.cache_key),
      ...(row.cached_from ? { cached: true, cachedFrom: String(row.cached_from) } : {}),
    };
  }

  /** What `principal` spent since `since` (USD), by the usage recorded: where budget counters start. */
  async spentSince(principal: string, since: Date): Promise<number> {
    await settled(this.store);
    const { rows } = await this.store.query<{ spent: string | number | null }>(
      `SELECT COALESCE(SUM(cost_usd), 0) AS spent FROM usage_records WHERE principal = $1 AND at >= $2`,
      [principal, since.toISOString()],
    );
    return numberFrom(rows[0]?.spent ?? 0);
  }

  /** Newest first, `limit` at a time; throws InvalidCursorError for a cursor it did not make. */
  async list(filter: ConsultationFilter, limit: number, cursor?: string): Promise<ConsultationPage> {
    await settled(this.store);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace("?", `$${params.length}`));
    };
    if (filter.principal) add("principal = ?", filter.principal);
    if (filter.expert) add("? = ANY (experts)", filter.expert);
    if (filter.from) add("created_at >= ?", filter.from);
    if (filter.to) add("created_at < ?", filter.to);
    if (filter.status) add("status = ?", filter.status);
    if (cursor) {
      const at = decodeCursor(cursor);
      if (!at) throw new InvalidCursorError("cursor");
      params.push(at[0], at[1]);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(limit + 1);
    const { rows } = await this.store.query<Row>(
      `SELECT id, principal, question, experts, status, agreement, answered, cost_usd, duration_ms, created_at
         FROM consultations ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit).map(
      (r): ConsultationSummary => ({
        id: String(r.id),
        principal: String(r.principal),
        question: String(r.question),
        experts: r.experts as string[],
        status: r.status as Consultation["status"],
        agreement: r.agreement === null ? null : numberFrom(r.agreement),
        answered: numberFrom(r.answered),
        costUsd: numberFrom(r.cost_usd),
        durationMs: numberFrom(r.duration_ms),
        createdAt: iso(r.created_at),
      }),
    );
    const last = items.at(-1);
    return rows.length > limit && last ? { items, nextCursor: encodeCursor(last.createdAt, last.id) } : { items };
  }
}

function toOutcome(r: Row): ExpertOutcome {
  const expertId = String(r.expert_id);
  const latencyMs = numberFrom(r.latency_ms);
  if (r.status === "answered") {
    return {
      expertId,
      status: "answered",
      latencyMs,
      answer: {
        expertId,
        answeredBy: String(r.answered_by),
        provider: String(r.provider),
        model: String(r.model),
        text: String(r.text),
        usage: { inputTokens: numberFrom(r.input_tokens), outputTokens: numberFrom(r.output_tokens) },
        costUsd: numberFrom(r.cost_usd),
        priced: Boolean(r.priced),
        attempts: numberFrom(r.attempts),
        latencyMs,
        finishReason: String(r.finish_reason ?? "other"),
      },
    };
  }
  return { expertId, status: r.status as "failed" | "late", latencyMs, error: r.error as OutcomeError };
}
