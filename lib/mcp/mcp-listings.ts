import type { GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate } from "@modelcontextprotocol/sdk/types.js";

/*
 * The answers of `mcp.<server>` actions beyond the contract's tools
 * (mcp-actor-contract.ts): resources and prompts, as the MCP schema has them.
 */

/** `mcp.<server>.listResources {}` → every resource and resource template, all pages followed. */
export interface McpResourceList {
  server: string;
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

/** `mcp.<server>.readResource { uri }` → the server's ReadResourceResult (`contents`). */
export type McpResourceContents = ReadResourceResult;

/** `mcp.<server>.listPrompts {}` → every prompt, all pages followed. */
export interface McpPromptList {
  server: string;
  prompts: Prompt[];
}

/** `mcp.<server>.getPrompt { name, arguments? }` → the server's GetPromptResult (`messages`). */
export type McpPromptMessages = GetPromptResult;

export type { GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplate };
