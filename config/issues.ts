import type { z } from "zod";
import type { FieldIssue } from "../lib/errors";

/** `experts[0].provider` from `["experts", 0, "provider"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, "");
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Short rendering of what was received; secrets are not configuration values we echo at length. */
export function formatReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // Nested deeper than the stack allows (a hostile body), a cycle or a BigInt: say what it is, not what it holds.
    return Array.isArray(value) ? "an array" : typeof value === "object" && value !== null ? "an object" : typeof value;
  }
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `a value of type ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => String(v)).join(", ")}`;
    default:
      return issue.message;
  }
}

/** The longest value, as JSON, an issue echoes in `received`. */
const MAX_ECHO = 200;

/** `value` when it is small enough to echo back whole (the message always says what it was), else nothing. */
function echoable(value: unknown): { received?: unknown } {
  if (value === undefined) return {};
  try {
    const text = JSON.stringify(value);
    return text !== undefined && text.length <= MAX_ECHO ? { received: value } : {};
  } catch {
    return {};
  }
}

/**
 * Turns zod issues into field issues whose message reads
 * `received "abc"; expected an integer port from 0 to 65535`.
 */
export function toFieldIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...prefix, ...issue.path, key];
        out.push({
          field: formatPath(path),
          ...echoable(valueAt(input, [...issue.path, key])),
          message: "unknown key; check its spelling against the documented keys",
        });
      }
      continue;
    }
    const received = valueAt(input, issue.path);
    out.push({
      field: formatPath([...prefix, ...issue.path]),
      ...echoable(received),
      message: `received ${formatReceived(received)}; expected ${expectation(issue)}`,
    });
  }
  return out;
}
