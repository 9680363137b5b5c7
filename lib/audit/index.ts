export * from "./audit-record";
export * from "./audit-hash";
export * from "./audit-log";
export * from "./audit-queue";
export * from "./canonical-json";
export * from "./verify-audit-log";
