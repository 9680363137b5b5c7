/**
 * Reading fields out of a provider's JSON without trusting its shape: each
 * accessor answers `undefined` for anything but the expected type, so a
 * missing or odd field never throws halfway through a mapping.
 */
export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A finite, non-negative number (token counts, durations). */
export function asCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** `obj.a.b.c`, each step an object. */
export function path(value: unknown, ...keys: string[]): unknown {
  let current: unknown = value;
  for (const key of keys) {
    const obj = asObject(current);
    if (!obj) return undefined;
    current = obj[key];
  }
  return current;
}
