import type { ServiceFactory } from "../mixins/node-runtime";
import createApiService from "./api.service";
import createSupervisorService from "./supervisor.service";

/** The product's services by name, as `core start --services` accepts them. */
export const PRODUCT_SERVICES: Readonly<Record<string, ServiceFactory>> = {
  api: createApiService,
  supervisor: createSupervisorService,
};

/** What `core start` runs when --services is not given. */
export const DEFAULT_SERVICES: readonly string[] = ["api", "supervisor"];
