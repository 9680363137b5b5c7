export * from "./dead-letter";
export * from "./job-events";
export * from "./job-handler";
export * from "./job-message";
export * from "./job-policy";
export * from "./job-store";
export * from "./job-worker";
export * from "./jobs-stream";
