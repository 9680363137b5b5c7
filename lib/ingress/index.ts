export * from "./ingress-message";
export * from "./ingress-metrics";
export * from "./ingress-request";
export * from "./ingress-routes";
export * from "./nats-ingress";
