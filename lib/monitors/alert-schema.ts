import { z } from "zod";
import { ValidationError } from "../errors";
import type { Alert } from "./alert";

const SEVERITIES = ["info", "warning", "high", "critical", "emergency"] as const;

/** An alert as it arrives in a `monitor.alert` event, from any node: checked before it is counted or sent on. */
const alertSchema = z.strictObject({
  monitor: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, { error: "a monitor name: lower-case letters, digits, '_' or '-' (e.g. health)" }),
  key: z.string().min(1).max(200),
  severity: z.enum(SEVERITIES),
  state: z.enum(["raised", "resolved"]),
  nodeID: z.string().min(1).max(200),
  message: z.string().min(1).max(2_000),
  value: z.number().finite().optional(),
  threshold: z.number().finite().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  at: z.number().int().nonnegative(),
});

/** The alert in `value`, or ValidationError naming what is wrong with it. */
export function readAlert(value: unknown): Alert {
  const parsed = alertSchema.safeParse(value);
  if (parsed.success) return parsed.data as Alert;
  throw new ValidationError("Invalid alert", {
    issues: parsed.error.issues.map((i) => ({ field: i.path.join(".") || "alert", message: i.message })),
  });
}
