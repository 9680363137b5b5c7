export * from "./core-error";
export * from "./errors";
export * from "./circle-errors";
export * from "./auth-errors";
export * from "./registry";
export * from "./describe-error";
export * from "./retry-after";
