import type { RoleConfig } from "../../config/file-schema";

/** Who is asking, as far as access goes: its roles, and for an API key the scopes it was narrowed to. */
export interface AccessSubject {
  roles: readonly string[];
  /** Absent or empty: everything the roles grant. Otherwise the granted permission must also match a scope. */
  scopes?: readonly string[] | undefined;
}

/** A granted permission as a matcher: `*` stands for any run of characters, the rest is literal. */
function matcherFor(granted: string): (required: string) => boolean {
  if (!granted.includes("*")) return (required) => required === granted;
  if (granted === "*") return () => true;
  const pattern = new RegExp(`^${granted.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*")}$`);
  return (required) => pattern.test(required);
}

/**
 * Roles → permissions, with inheritance resolved once. `allows` is on every
 * call's path: a role's answer for a permission is remembered.
 */
export class AccessPolicy {
  private readonly matchers = new Map<string, Array<(required: string) => boolean>>();
  private readonly granted = new Map<string, readonly string[]>();
  private readonly answers = new Map<string, Map<string, boolean>>();

  constructor(roles: Readonly<Record<string, RoleConfig>>) {
    const resolve = (name: string, path: readonly string[]): string[] => {
      if (path.includes(name)) throw new Error(`role ${name} inherits itself (${[...path, name].join(" → ")})`);
      const role = roles[name];
      if (!role) throw new Error(`role ${path[path.length - 1]} inherits unknown role ${name}`);
      return [...role.permissions, ...role.inherits.flatMap((parent) => resolve(parent, [...path, name]))];
    };
    for (const name of Object.keys(roles)) {
      const permissions = [...new Set(resolve(name, []))];
      this.granted.set(name, permissions);
      this.matchers.set(name, permissions.map(matcherFor));
    }
  }

  /** Role names known to this policy, for messages and for `--role` checks. */
  roles(): string[] {
    return [...this.granted.keys()];
  }

  hasRole(name: string): boolean {
    return this.granted.has(name);
  }

  /** What a role grants, inherited permissions included. */
  permissionsOf(role: string): readonly string[] {
    return this.granted.get(role) ?? [];
  }

  /** True when one of the subject's roles grants `permission` (and, for a scoped key, a scope admits it). */
  allows(subject: AccessSubject, permission: string): boolean {
    if (subject.scopes && subject.scopes.length > 0 && !subject.scopes.some((scope) => matcherFor(scope)(permission))) return false;
    return subject.roles.some((role) => this.roleAllows(role, permission));
  }

  private roleAllows(role: string, permission: string): boolean {
    // By role, then permission: both strings arrive as the same instances call after call, their hashes known.
    let answers = this.answers.get(role);
    if (!answers) {
      if (!this.matchers.has(role)) return false;
      this.answers.set(role, (answers = new Map()));
    }
    let answer = answers.get(permission);
    if (answer === undefined) {
      answer = this.matchers.get(role)!.some((match) => match(permission));
      // Bounded: permissions are declared by actions (and MCP tools); a flood of distinct ones is not expected.
      if (answers.size < 10_000) answers.set(permission, answer);
    }
    return answer;
  }
}
