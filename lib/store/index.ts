export * from "./store";
export * from "./migration";
export * from "./migrator";
export * from "./open-store";
export * from "./data-dir-lock";
export { PostgresStore, redactUrl } from "./postgres-store";
export { PgliteStore } from "./pglite-store";
export { MIGRATIONS } from "./migrations";
