export * from "./core-config";
export * from "./env-schema";
export * from "./file-schema";
export * from "./load-config";
export { formatPath, toFieldIssues } from "./issues";
export * from "./resilience-policies";
