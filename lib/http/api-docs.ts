import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * The browsable API reference at /api/docs: Swagger UI served from this
 * server (no CDN, so it works offline and under a strict content policy),
 * reading /api/openapi.json.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CORE API reference</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#reference", deepLinking: true, tryItOutEnabled: false });\n`;

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
};

const cache = new Map<string, Buffer>();

/** A docs asset by name, or undefined for any other name (no path from the request reaches the file system). */
export async function docsAsset(name: string): Promise<{ body: Buffer | string; contentType: string } | undefined> {
  if (name === "init.js") return { body: INIT, contentType: "application/javascript; charset=utf-8" };
  const contentType = ASSETS[name];
  if (!contentType) return undefined;
  let body = cache.get(name);
  if (!body) {
    body = await readFile(join(dirname(require.resolve("swagger-ui-dist/package.json")), name));
    cache.set(name, body);
  }
  return { body, contentType };
}
