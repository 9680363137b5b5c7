/**
 * The logging surface lib/ code needs. Moleculer's loggers satisfy it, so lib/
 * stays free of the broker while logging through the node's logger.
 */
export interface Logger {
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
