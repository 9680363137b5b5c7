import { ServiceBroker, type ServiceSchema } from "moleculer";
import { loadConfig } from "../../config";
import { createBrokerOptions } from "../../moleculer.config";
import { NATS_URL } from "./services";

export interface TestBrokerOptions {
  namespace: string;
  nodeId: string;
  natsUrl?: string;
  services?: ServiceSchema[];
  env?: Record<string, string>;
}

/**
 * A broker configured exactly as a CORE node is (same broker options, error
 * regenerator, serializer), on the real NATS in the test file's namespace.
 */
export async function startTestBroker(options: TestBrokerOptions): Promise<ServiceBroker> {
  const config = loadConfig({
    NATS_URL: options.natsUrl ?? NATS_URL,
    CORE_NAMESPACE: options.namespace,
    CORE_NODE_ID: options.nodeId,
    CORE_METRICS: "false",
    CORE_LOG_LEVEL: process.env.CORE_TEST_LOG_LEVEL ?? "error",
    CORE_HEARTBEAT_INTERVAL: "1",
    CORE_HEARTBEAT_TIMEOUT: "4",
    ...options.env,
  });
  const broker = new ServiceBroker(createBrokerOptions(config));
  for (const schema of options.services ?? []) broker.createService(schema);
  await broker.start();
  return broker;
}
