/** An integer setting of a suite from the environment (underscores allowed: 100_000); a bad value stops the run saying what was expected. */
export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: received ${JSON.stringify(raw)}; expected an integer of at least ${min}`);
  return n;
}
