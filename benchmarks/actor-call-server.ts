import { ServiceBroker } from "moleculer";
import { defineActor } from "../actors/actor-spec";
import { loadConfig } from "../config";
import { createBrokerOptions } from "../moleculer.config";
import createSupervisorService from "../services/supervisor.service";

/**
 * The callee side of benchmarks/actor-call, in a process of its own so that
 * caller and callee do not share one event loop: `bare` runs a plain Moleculer
 * service `bare.echo`, `core` a CORE node supervising the actor `bench.echo`.
 * Prints "ready" once started; stops on SIGTERM.
 */
async function main(): Promise<void> {
  const [variant, natsUrl, namespace] = process.argv.slice(2) as [string, string, string];
  let broker: ServiceBroker;
  if (variant === "bare") {
    broker = new ServiceBroker({ namespace, nodeID: "server", logger: false, serializer: "JSON", transporter: { type: "NATS", options: { url: natsUrl } } });
    broker.createService({ name: "bare", actions: { echo: (ctx: { params: unknown }) => ctx.params } });
  } else {
    const config = loadConfig({ NATS_URL: natsUrl, CORE_NAMESPACE: namespace, CORE_NODE_ID: "server", CORE_METRICS: "false", CORE_LOG_LEVEL: "fatal" });
    broker = new ServiceBroker(createBrokerOptions(config));
    const echo = defineActor({ name: "bench.echo", kind: "bench", actions: { echo: { handler: (ctx) => ctx.params } } });
    broker.createService(createSupervisorService({ config, store: undefined, shared: undefined, actors: [echo], fatal: () => undefined }));
  }
  await broker.start();
  process.on("SIGTERM", () => void broker.stop().then(() => process.exit(0)));
  console.log("ready");
}

void main();
