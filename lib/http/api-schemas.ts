import { z } from "zod";

/**
 * Shapes of the REST API's answers, for the OpenAPI document. Objects are
 * loose: fields may be added (DESIGN.md §11), never removed or retyped.
 */

export const errorResponseSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: "Stable error code, e.g. VALIDATION_FAILED, RATE_LIMITED" }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      requestId: z.string().optional(),
    }),
  });

const usage = z.looseObject({ inputTokens: z.int(), outputTokens: z.int() });

const expertOutcome = z.looseObject({
  expertId: z.string(),
  status: z.enum(["answered", "failed", "late"]),
  latencyMs: z.number(),
});

export const consultationSchema = z
  .looseObject({
    id: z.uuid(),
    principal: z.string(),
    question: z.string(),
    system: z.string().optional(),
    experts: z.array(z.string()),
    status: z.enum(["completed", "failed"]),
    consensus: z.looseObject({ consensus: z.looseObject({ expertId: z.string(), text: z.string() }), agreement: z.number() }).optional(),
    outcomes: z.array(expertOutcome),
    quorum: z.looseObject({ required: z.int(), answered: z.int() }),
    usage,
    costUsd: z.number(),
    error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
    durationMs: z.number(),
    nodeId: z.string(),
    createdAt: z.string(),
    cached: z.boolean().optional(),
    cachedFrom: z.string().optional(),
  });

export const consultationPageSchema = z.looseObject({
  items: z.array(
    z.looseObject({ id: z.uuid(), principal: z.string(), question: z.string(), status: z.enum(["completed", "failed"]), createdAt: z.string() }),
  ),
  nextCursor: z.string().optional(),
});

export const expertListingSchema = z.array(
  z.looseObject({ id: z.string(), provider: z.string(), model: z.string(), weight: z.number(), available: z.boolean() }),
);

const costTotals = { calls: z.number(), inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number() };
export const costSummarySchema = z.looseObject({
  rows: z.array(z.looseObject(costTotals)),
  total: z.looseObject(costTotals),
});

export const budgetsSchema = z.looseObject({
  principal: z.string(),
  budgets: z.array(
    z.looseObject({ rule: z.string(), period: z.enum(["day", "week", "month"]), limitUsd: z.number(), usedUsd: z.number(), remainingUsd: z.number() }),
  ),
});

export const actorsSchema = z.looseObject({
  actors: z.array(z.looseObject({ name: z.string(), nodeID: z.string(), state: z.string(), restarts: z.int() })),
  unreachable: z.array(z.looseObject({ nodeID: z.string(), error: z.string() })),
});

export const restartSchema = z.looseObject({ actor: z.string(), restartedOn: z.array(z.string()) });

export const tokensSchema = z
  .looseObject({ accessToken: z.string(), refreshToken: z.string(), tokenType: z.literal("Bearer"), expiresIn: z.int() });

export const apiKeySchema = z
  .looseObject({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    scopes: z.array(z.string()),
    createdBy: z.string(),
    createdAt: z.string(),
    // Absent, not null, while the key has none (never expires, never used, live).
    expiresAt: z.string().optional(),
    lastUsedAt: z.string().optional(),
    revokedAt: z.string().optional(),
  });
