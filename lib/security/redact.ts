/**
 * Removes secrets from values before they are logged or audited: values under
 * keys that name a secret (password, token, apiKey, authorization, cookie, …)
 * anywhere in a nested structure, and secret-shaped runs inside any string
 * (`Bearer …`, JWTs, CORE API keys, provider keys, passwords in URLs and in
 * `key=value` text).
 *
 * The input is never mutated: what changes is copied, what does not is shared
 * (a value without secrets comes back as the very same reference). Work is
 * bounded — depth, number of values and characters scanned — because a log
 * call must not stall the node on a huge or cyclic argument.
 */

export const REDACTED = "[redacted]";
export const CIRCULAR = "[circular]";
export const TRUNCATED = "[truncated]";
export const TOO_DEEP = "[too deep]";

export interface RedactOptions {
  /** Objects nested deeper than this are replaced by `[too deep]`. */
  maxDepth?: number;
  /** Values visited at most; past it the rest is replaced by `[truncated]`. */
  maxNodes?: number;
  /** Longer strings are cut (then scanned): a log line does not need more. */
  maxStringLength?: number;
  /** Characters scanned in all strings together; past it strings are replaced by `[truncated]`. */
  maxTotalChars?: number;
}

const DEFAULTS: Required<RedactOptions> = { maxDepth: 12, maxNodes: 10_000, maxStringLength: 16_384, maxTotalChars: 1_048_576 };

/**
 * Whether a property name names a secret. Matched on the lower-cased name
 * without separators, so `api_key`, `apiKey`, `X-Api-Key` are one name. `token`
 * counts only at the end (`accessToken`, `refreshToken`) so token counts
 * (`inputTokens`, `maxTokens`) stay visible; `apiKeyEnv` (the name of a
 * variable, not a key) stays too.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, "");
  return (
    k.includes("password") ||
    k.includes("passwd") ||
    k.includes("passphrase") ||
    k.includes("secret") ||
    k.includes("authorization") ||
    k.includes("cookie") ||
    k.includes("credential") ||
    k.includes("privatekey") ||
    k.endsWith("apikey") ||
    k.endsWith("token") ||
    k === "pwd" ||
    k === "pass"
  );
}

// A token68 (RFC 7235) after "Bearer".
const BEARER = /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi;
// Three base64url segments, the first a JSON header ("eyJ" = '{"'); the signature may be empty (alg none).
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
// CORE API keys: core_<id>_<secret>. The id is kept: it names the key without opening it.
const CORE_KEY = /(?<![A-Za-z0-9])core_([A-Za-z0-9-]+)_([A-Za-z0-9_-]+)/g;
// OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and the like.
const SK_KEY = /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g;
// Google (AIza…), GitHub (ghp_, gho_, ghs_, ghu_, ghr_, github_pat_), AWS access key ids, Slack.
const OTHER_PROVIDER_KEYS = /(?<![A-Za-z0-9])(?:AIza[0-9A-Za-z_-]{30,}|gh[opsur]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,})/g;
// scheme://user:password@host — the lookbehind starts the scheme at a run's start (linear time).
const URL_PASSWORD = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/?#@]*):([^\s/?#@]+)@/g;
// A quoted value (JSON or shell) or a bare run; never starts at "[" so "[redacted]" is left alone.
// The closing quote is optional: an unclosed quote still hides the rest of the line, and no
// attempt can fail after scanning far (which would make repeated attempts quadratic).
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\.)*"?|'[^'\r\n]*'?`;
const VALUE = String.raw`(${QUOTED}|[^\s"'&,;)}\][]+)`;
// password=…, "secret": "…", api_key: … (in text, query strings, JSON held as a string);
// also inside a longer name (newPassword=…, openai_api_key=…).
const NAMED_SECRET = new RegExp(String.raw`((?:password|passwd|passphrase|client_secret|secret|api[_-]?key|x-api-key)["']?\s*[:=]\s*)` + VALUE, "gi");
// token=… or "access_token": "…"; a bare "token: x" in prose is left alone.
const NAMED_TOKEN = new RegExp(String.raw`((?:access_token|refresh_token|id_token|token)(?:\s*=\s*|["']\s*:\s*))` + VALUE, "gi");
// Header lines: the value runs to the end of the line.
const NAMED_HEADER = new RegExp(String.raw`(?<![A-Za-z0-9_-])((?:proxy-)?authorization|(?:set-)?cookie)(["']?\s*[:=]\s*)(${QUOTED}|[^\r\n"']+)`, "gi");

function maskValue(value: string): string {
  const q = value[0];
  if (q !== '"' && q !== "'") return REDACTED;
  return value.length >= 2 && value.endsWith(q) ? `${q}${REDACTED}${q}` : `${q}${REDACTED}`;
}

/** Masks secret-shaped runs in one string; returns the same string when there are none. */
export function redactString(input: string): string {
  let s = input;
  // Cheap substring checks first: most log lines carry none of these and skip the regexes.
  const lower = s.toLowerCase();
  if (lower.includes("bearer")) s = s.replace(BEARER, (m) => `${m.slice(0, 6)} ${REDACTED}`);
  if (s.includes("eyJ")) s = s.replace(JWT, REDACTED);
  if (s.includes("core_")) {
    // A run that is only lower-case letters and underscores is an identifier (core_schema_migrations, metric names), not a random secret.
    s = s.replace(CORE_KEY, (m, id: string, secret: string) => (/^[a-z_]+$/.test(secret) ? m : `core_${id}_${REDACTED}`));
  }
  if (s.includes("sk-")) s = s.replace(SK_KEY, (m) => (m.startsWith("sk-ant-") ? `sk-ant-${REDACTED}` : `sk-${REDACTED}`));
  if (/AIza|gh[opsur]_|github_pat_|AKIA|xox/.test(s)) s = s.replace(OTHER_PROVIDER_KEYS, REDACTED);
  if (s.includes("://")) s = s.replace(URL_PASSWORD, (_m, head: string) => `${head}:${REDACTED}@`);
  if (s.includes("=") || s.includes(":")) {
    const l = s === input ? lower : s.toLowerCase();
    if (/pass|secret|key/.test(l)) s = s.replace(NAMED_SECRET, (_m, head: string, value: string) => head + maskValue(value));
    if (l.includes("token")) s = s.replace(NAMED_TOKEN, (_m, head: string, value: string) => head + maskValue(value));
    if (l.includes("authorization") || l.includes("cookie")) {
      s = s.replace(NAMED_HEADER, (_m, name: string, sep: string, value: string) => name + sep + maskValue(value));
    }
  }
  return s;
}

/** A character that can be part of a token: a cut string must not end in half of a secret. */
function isTokenChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 45 || code === 95 || code === 46 || code === 43 || code === 47 || code === 61 || code === 126
  );
}

class Redactor {
  private nodes = 0;
  private chars = 0;
  /** The objects on the current path: meeting one again is a cycle. */
  private readonly path = new Set<object>();
  /** Objects already done: a shared (not cyclic) reference gets the same result. */
  private readonly done = new Map<object, unknown>();

  constructor(private readonly opts: Required<RedactOptions>) {}

  value(v: unknown, depth: number): unknown {
    if (this.nodes >= this.opts.maxNodes) return TRUNCATED;
    this.nodes++;
    if (typeof v === "string") return this.string(v);
    if (v === null || typeof v !== "object") return v;
    if (this.path.has(v)) return CIRCULAR;
    if (this.done.has(v)) return this.done.get(v);
    if (depth >= this.opts.maxDepth) return TOO_DEEP;
    this.path.add(v);
    try {
      const result = this.object(v, depth + 1);
      this.done.set(v, result);
      return result;
    } finally {
      this.path.delete(v);
    }
  }

  private string(s: string): string {
    const remaining = this.opts.maxTotalChars - this.chars;
    if (remaining <= 0) return TRUNCATED;
    let text = s;
    const limit = Math.min(this.opts.maxStringLength, remaining);
    if (text.length > limit) {
      let end = limit;
      while (end > 0 && isTokenChar(text.charCodeAt(end - 1))) end--;
      text = `${text.slice(0, end)}…[${s.length - end} more characters]`;
    }
    this.chars += text.length;
    return redactString(text);
  }

  private object(v: object, depth: number): unknown {
    if (v instanceof Date || v instanceof RegExp || ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) {
      return v;
    }
    if (Array.isArray(v)) return this.array(v, depth);
    if (v instanceof Map) return this.map(v, depth);
    if (v instanceof Set) {
      const items = this.array([...v], depth);
      return items === undefined ? v : new Set(items as unknown[]);
    }
    if (v instanceof Error) return this.error(v, depth);
    return this.record(v, depth);
  }

  /** The array itself when nothing changed. */
  private array(v: readonly unknown[], depth: number): unknown {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      if (this.nodes >= this.opts.maxNodes) {
        out ??= v.slice(0, i);
        out.push(`${TRUNCATED} ${v.length - i} more items`);
        return out;
      }
      const item = v[i];
      const r = this.value(item, depth);
      if (out) out.push(r);
      else if (r !== item) {
        out = v.slice(0, i);
        out.push(r);
      }
    }
    return out ?? v;
  }

  private map(v: Map<unknown, unknown>, depth: number): unknown {
    let changed = false;
    const entries: Array<[unknown, unknown]> = [];
    for (const [key, item] of v) {
      if (this.nodes >= this.opts.maxNodes) {
        entries.push([TRUNCATED, TRUNCATED]);
        changed = true;
        break;
      }
      const r = typeof key === "string" && isSecretKey(key) && item != null ? REDACTED : this.value(item, depth);
      const k = typeof key === "string" ? this.string(key) : key;
      if (r !== item || k !== key) changed = true;
      entries.push([k, r]);
    }
    return changed ? new Map(entries) : v;
  }

  /**
   * Own enumerable properties; a copy keeps the prototype so a class instance
   * still prints as one. Keys are scanned too: an object keyed by a token is
   * not rare (caches, maps of sessions).
   */
  private record(v: object, depth: number): unknown {
    let copy: object | undefined;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (this.nodes >= this.opts.maxNodes) {
        copy ??= this.copyOf(v, keys, i);
        setOwn(copy, TRUNCATED, `${keys.length - i} more properties`);
        return copy;
      }
      const item = readProperty(v, key);
      const r = isSecretKey(key) && item != null ? REDACTED : this.value(item, depth);
      const k = this.string(key);
      if (copy) setOwn(copy, k, r);
      else if (r !== item || k !== key) {
        copy = this.copyOf(v, keys, i);
        setOwn(copy, k, r);
      }
    }
    return copy ?? v;
  }

  private copyOf(v: object, keys: readonly string[], upTo: number): object {
    const copy = Object.create(Object.getPrototypeOf(v) as object | null) as object;
    for (let j = 0; j < upTo; j++) setOwn(copy, keys[j]!, readProperty(v, keys[j]!));
    return copy;
  }

  /**
   * message, stack, cause, errors and the error's own fields, keeping which are
   * enumerable. `stack` is an accessor in recent V8, so every property is read
   * through its getter and the copy holds plain data properties.
   */
  private error(err: Error, depth: number): unknown {
    const descriptors = Object.getOwnPropertyDescriptors(err);
    const values = new Map<string, unknown>();
    let changed = false;
    for (const key of Object.getOwnPropertyNames(err)) {
      const item = readProperty(err, key);
      const r = isSecretKey(key) && item != null ? REDACTED : this.value(item, depth);
      if (r !== item) changed = true;
      values.set(key, r);
    }
    if (!changed) return err;
    const copy = Object.create(Object.getPrototypeOf(err) as object) as Error;
    for (const [key, value] of values) {
      Object.defineProperty(copy, key, { value, writable: true, configurable: true, enumerable: descriptors[key]?.enumerable ?? false });
    }
    return copy;
  }
}

/** Defined, not assigned: a key "__proto__" (JSON.parse makes those) stays a plain property. */
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A getter that throws must not break the log line. */
function readProperty(v: object, key: string): unknown {
  try {
    return (v as Record<string, unknown>)[key];
  } catch {
    return "[unreadable]";
  }
}

/**
 * A copy of `value` without secrets (see the module comment). Structure and
 * non-secret values are kept; a value under a secret key becomes `[redacted]`
 * (null and undefined stay, they hide nothing).
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  return new Redactor({ ...DEFAULTS, ...options }).value(value, 0);
}
