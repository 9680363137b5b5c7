/** A value JSON can carry, as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * The canonical text of a JSON value (RFC 8785, JCS): object keys sorted by
 * UTF-16 code units, no whitespace, numbers and strings as ECMAScript's
 * JSON.stringify writes them. Equal values give equal text, whatever the key
 * order they were built or stored in (jsonb reorders keys).
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(",")}}`;
}

/**
 * Text PostgreSQL stores as given: it refuses NUL in text and jsonb, and a lone
 * UTF-16 surrogate cannot be encoded as UTF-8, so both become U+FFFD here —
 * before hashing, so what is hashed is what is read back.
 */
export function storableText(s: string): string {
  const wellFormed = s.isWellFormed() ? s : s.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", "\uFFFD") : wellFormed;
}

function storable(value: JsonValue): JsonValue {
  if (typeof value === "string") return storableText(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(storable);
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    // defineProperty: a "__proto__" key stays data.
    Object.defineProperty(out, storableText(k), { value: storable(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * `value` as the JSON value a jsonb column will hold and give back: what
 * JSON.stringify keeps (undefined and functions dropped, NaN and Infinity as
 * null, Dates as ISO strings, bigints as decimal strings), with storable text.
 * A value that is not a JSON object becomes `{ value: … }`.
 */
export function toStorableJsonObject(value: unknown): JsonObject {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  const json = storable(text === undefined ? {} : (JSON.parse(text) as JsonValue));
  return json !== null && typeof json === "object" && !Array.isArray(json) ? json : { value: json };
}
