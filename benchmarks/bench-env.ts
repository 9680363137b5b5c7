/** An integer setting of a suite from the environment (underscores allowed: 100_000); a bad value stops the run saying what was expected. */
export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: received ${JSON.stringify(raw)}; expected an integer of at least ${min}`);
  return n;
}

/** A comma-separated list of numbers from the environment (connection counts, payload sizes…), or `fallback` when unset or empty. */
export function numbersEnv(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  return raw ? raw.split(",").map(Number) : fallback;
}
