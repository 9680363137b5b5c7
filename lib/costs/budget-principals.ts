import { IdentityStore } from "../security/identity-store";
import type { Store } from "../store/store";
import { summariseCosts } from "./cost-summary";

/** Who a `*` or `role:` budget binds, as the store knows it (the sources lib/monitors/cost-budget-readings reads). */
export interface BudgetPrincipals {
  /** Principals with spending recorded since `since`, most spent first. */
  spenders(since: Date): Promise<string[]>;
  /** A principal's roles (a user's or an API key's role), for `role:` budgets; none for a principal the store does not know. */
  rolesOf(principalId: string): Promise<string[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function budgetPrincipals(store: Store): BudgetPrincipals {
  const identities = new IdentityStore(store);
  return {
    async spenders(since) {
      const { rows } = await summariseCosts(store, { groupBy: ["principal"], from: since.toISOString() });
      return rows.map((r) => r.principal!);
    },
    async rolesOf(id) {
      // A user's id is a UUID (the users table's key); anything else can only be an API key's public id.
      const user = UUID.test(id) ? await identities.findUserById(id) : undefined;
      if (user) return [user.role];
      const key = await identities.findApiKey(id);
      return key ? [key.role] : [];
    },
  };
}
