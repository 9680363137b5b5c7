import { runActorCallBenchmark } from "./actor-call";
import { runActorCpuBenchmark } from "./actor-cpu";
import { runConsensusBenchmark } from "./consensus";
import { runConsultBenchmark } from "./consult";
import { runEdgeHeadersBenchmark } from "./edge-headers";
import { runGatewayBenchmark } from "./gateway";
import { runIngressBenchmark } from "./ingress";
import { runMcpBenchmark } from "./mcp";
import { runSerializerBenchmark } from "./serializers";

/** `npm run bench`: every benchmark, each writing benchmarks/results/<name>.json and .md. */
const BENCHMARKS: Record<string, () => Promise<void>> = {
  serializers: runSerializerBenchmark,
  "actor-call": runActorCallBenchmark,
  "actor-cpu": runActorCpuBenchmark,
  consensus: runConsensusBenchmark,
  consult: runConsultBenchmark,
  "edge-headers": runEdgeHeadersBenchmark,
  gateway: runGatewayBenchmark,
  ingress: runIngressBenchmark,
  mcp: runMcpBenchmark,
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const [name, run] of Object.entries(BENCHMARKS)) {
    if (only.length && !only.includes(name)) continue;
    await run();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
