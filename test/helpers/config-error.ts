import { loadConfig } from "../../config";
import { ConfigError } from "../../lib/errors";

/** The ConfigError loadConfig throws for `env`; fails the test when it throws none or another error. */
export function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
