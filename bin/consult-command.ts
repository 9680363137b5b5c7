import { randomUUID } from "node:crypto";
import { SingleBar } from "cli-progress";
import type { Context, ServiceSchema } from "moleculer";
import type { CoreConfig } from "../config";
import type { Consultation } from "../lib/circle/consultation";
import { DEFAULT_CONSULT_TIMEOUT_MS } from "../lib/circle/consult-request";
import { NO_EXPERTS_HINT } from "../lib/circle/no-experts-hint";
import { renderConsultation } from "../lib/circle/render-consultation";
import { CoreError, describeError, NoExpertsError } from "../lib/errors";
import { startNode, type CoreNode } from "../node";
import { CONSULT_PROGRESS, type ConsultProgress } from "../services/circle.service";

export interface ConsultCommandOptions {
  experts?: string[];
  json?: boolean;
  timeout?: number;
  minResponses?: number;
}

/** The services an embedded `core consult` runs in its own process (no NATS: nothing else could answer). */
const EMBEDDED_SERVICES = ["supervisor", "aggregator", "experts", "circle"];
/** How long a cluster client waits for some node to offer circle.consult. */
const CIRCLE_WAIT_MS = 10_000;

/** A listener for this consult's progress events, drawing a bar on stderr (a terminal only). */
function progressListener(token: string, total: number): { schema: ServiceSchema; stop(): void } {
  const tty = process.stderr.isTTY === true;
  const bar = tty ? new SingleBar({ format: "experts {bar} {value}/{total} answered or failed | {last}", hideCursor: true, stream: process.stderr, clearOnComplete: true }) : undefined;
  bar?.start(total, 0, { last: "waiting" });
  let done = 0;
  return {
    schema: {
      name: `consult-progress-${token.slice(0, 8)}`,
      events: {
        [CONSULT_PROGRESS](ctx: Context<ConsultProgress>) {
          if (ctx.params.token !== token) return;
          done++;
          bar?.update(done, { last: `${ctx.params.expertId} ${ctx.params.status} in ${(ctx.params.latencyMs / 1000).toFixed(1)} s` });
        },
      },
    },
    stop: () => bar?.stop(),
  };
}

function printFailure(err: unknown): void {
  console.error(`core consult: ${describeError(err)}`);
  const outcomes = err instanceof CoreError ? (err.data.experts as Consultation["outcomes"] | undefined) : undefined;
  for (const o of outcomes ?? []) {
    console.error(`  - ${o.expertId}: ${o.status === "answered" ? "answered" : `${o.status}, ${o.error.code}: ${o.error.message}`}`);
  }
}

/**
 * `core consult "QUESTION"`: in a cluster (NATS_URL set) a client node asks
 * whichever node runs the circle; embedded, this process runs the circle
 * itself. Prints a table, or the whole consultation as JSON with --json.
 */
export async function runConsultCommand(config: CoreConfig, question: string, options: ConsultCommandOptions): Promise<number> {
  const embedded = !config.nats;
  if (embedded && config.experts.length === 0) {
    console.error(`core consult: no experts are configured [${NoExpertsError.code}]\n${NO_EXPERTS_HINT}`);
    return 1;
  }
  const token = randomUUID();
  const expected = options.experts?.length ?? (config.experts.length || 1);
  const progress = options.json ? undefined : progressListener(token, expected);
  let node: CoreNode | undefined;
  try {
    node = await startNode({ config, services: embedded ? EMBEDDED_SERVICES : [], command: "core consult", ...(progress ? { schemas: [progress.schema] } : {}) });
    if (!embedded) {
      await node.broker.waitForServices(["circle"], CIRCLE_WAIT_MS).catch(() => {
        throw new NoExpertsError(`No node of the cluster runs the circle (waited ${CIRCLE_WAIT_MS / 1000} s): start one with \`core start\``);
      });
    }
    const timeoutMs = options.timeout ?? DEFAULT_CONSULT_TIMEOUT_MS;
    const params = {
      question,
      timeoutMs,
      ...(options.experts ? { experts: options.experts } : {}),
      ...(options.minResponses ? { minResponses: options.minResponses } : {}),
    };
    // The consult's own deadline answers first; the call's timeout only covers a lost node.
    const consultation = await node.broker.call<Consultation, typeof params>("circle.consult", params, { meta: { progress: token }, timeout: timeoutMs + 5_000 });
    progress?.stop();
    console.log(options.json ? JSON.stringify(consultation, null, 2) : renderConsultation(consultation));
    return 0;
  } catch (err) {
    progress?.stop();
    printFailure(err);
    return 1;
  } finally {
    await node?.stop().catch(() => undefined);
  }
}
