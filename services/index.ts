import type { ActorDefinition } from "../actors/actor-spec";
import type { ActorFactory, ServiceFactory } from "../mixins/node-runtime";
import createAggregatorActor from "./aggregator.service";
import createBudgetsActor from "./budgets.service";
import createCircleActor from "./circle.service";
import createCostsActor from "./costs.service";
import createExpertActors from "./experts.service";
import createMcpActors from "./mcp.service";
import createMemoryMonitorActor from "./memory-monitor.service";
import createApiService from "./api.service";
import createAuditService from "./audit.service";
import createAuthService from "./auth.service";
import createAlertsService from "./alerts.service";
import createCostMonitorActor from "./cost-monitor.service";
import createHealthMonitorActor from "./health-monitor.service";
import createIngressService from "./ingress.service";
import createJobsService from "./jobs.service";
import createMcpGatewayService from "./mcp-gateway.service";
import createOpenAiService from "./openai.service";
import createSupervisorService from "./supervisor.service";

/** The product's services by name, as `core start --services` accepts them. */
export const PRODUCT_SERVICES: Readonly<Record<string, ServiceFactory>> = {
  api: createApiService,
  auth: createAuthService,
  audit: createAuditService,
  alerts: createAlertsService,
  ingress: createIngressService,
  jobs: createJobsService,
  "mcp-gateway": createMcpGatewayService,
  openai: createOpenAiService,
  supervisor: createSupervisorService,
};

/** The product's actors by name: supervised on the node that runs them. */
export const PRODUCT_ACTORS: Readonly<Record<string, ActorFactory>> = {
  aggregator: () => [createAggregatorActor() as ActorDefinition],
  experts: createExpertActors,
  circle: createCircleActor,
  costs: createCostsActor,
  budgets: createBudgetsActor,
  mcp: createMcpActors,
  "health-monitor": createHealthMonitorActor,
  "cost-monitor": createCostMonitorActor,
  "memory-monitor": createMemoryMonitorActor,
};

/** What `core start` runs when --services is not given. */
export const DEFAULT_SERVICES: readonly string[] = ["api", "auth", "audit", "openai", "supervisor", "aggregator", "experts", "circle", "costs", "budgets", "mcp", "mcp-gateway", "memory-monitor", "ingress", "alerts", "health-monitor", "cost-monitor", "jobs"];
