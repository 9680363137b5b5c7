export * from "./control-message";
export * from "./control-socket-path";
export * from "./control-server";
export * from "./control-client";
