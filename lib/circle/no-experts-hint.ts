/** What to do when no expert is configured: said by `core start`, `core consult` and a failed consult. */
export const NO_EXPERTS_HINT =
  "Add experts to the file named by CORE_CONFIG, e.g. `experts: [{ id: local, provider: ollama, model: llama3.2 }]` for Ollama on " +
  "http://127.0.0.1:11434, or `{ id: claude, provider: anthropic, model: claude-sonnet-4-5 }` with ANTHROPIC_API_KEY set; " +
  "the README's \"Experts and providers\" section has one example per provider.";
