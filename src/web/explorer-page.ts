// The API explorer's page: Swagger UI (from the swagger-ui-dist package, served by bankd, no
// CDN) pointed at this server's /openapi.json, under a Content-Security-Policy of its own.

/** Asset URLs of the page, each named by content hash (see explorer.ts). */
export interface ExplorerAssets {
  css: string;
  bundle: string;
  init: string;
  icon: string;
}

/** Scripts and styles only from this origin, calls only to this origin (Try it out calls the
 * same server), no framing, no plugins. Swagger UI sets styles through the DOM (React), which
 * `style-src 'self'` allows, so neither 'unsafe-inline' nor 'unsafe-eval' is needed; images
 * include data: URIs because its stylesheet draws icons with them. */
export const EXPLORER_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function explorerHtml(assets: ExplorerAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>bankd API explorer</title>
  <link rel="icon" type="image/png" href="${assets.icon}">
  <link rel="stylesheet" href="${assets.css}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${assets.bundle}"></script>
  <script src="${assets.init}"></script>
</body>
</html>
`;
}

/** Starts Swagger UI (a script file: the CSP allows no inline script). Authorization is kept
 * in the page only (persistAuthorization off: no token in localStorage); no validator badge
 * (it would call a third-party server). */
export const EXPLORER_INIT_JS = `"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    showExtensions: true,
    persistAuthorization: false,
    validatorUrl: null,
    supportedSubmitMethods: ["get", "post"]
  });
});
`;
