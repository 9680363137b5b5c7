/**
 * How the gateway names tools: every upstream tool as `<server>__<tool>`, and
 * CORE's own under the reserved server name `core` (`core__consult`). The
 * configuration refuses a server named `core`, or whose name holds `__` or
 * ends in `_`, so a name splits one way only; still, names are looked up in
 * the catalogue, never split.
 */

export const TOOL_NAME_SEPARATOR = "__";

/** The server name CORE's own tools are listed under; no upstream server may take it. */
export const CORE_SERVER = "core";

export function namespacedToolName(server: string, tool: string): string {
  return `${server}${TOOL_NAME_SEPARATOR}${tool}`;
}

/** `server/tool`: how a tool is named in audit rows, permissions and messages. */
export function toolPath(server: string, tool: string): string {
  return `${server}/${tool}`;
}
