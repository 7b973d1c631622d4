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

/** The "run the whole flow" helper (issue 28), plain ES5 for the page and evaluated as is by
 * test/explorer: fills the examples' {{placeholders}} at each Execute (a fresh UUID, a new email,
 * the email registered, the accounts opened) and remembers what the flow's answers hold. A
 * placeholder it cannot fill yet is sent as it is, and the server says what is wrong. */
export const EXPLORER_FLOW_JS = `function createBankdFlow(randomUUID) {
  var state = { email: "", pendingEmail: "", accounts: [] };
  function value(name) {
    if (name === "fresh UUID") return randomUUID();
    if (name === "new email") return (state.pendingEmail = "ada-" + randomUUID().slice(0, 8) + "@example.com");
    if (name === "registered email") return state.email || undefined;
    if (name === "first account id") return state.accounts[0] && state.accounts[0].id;
    if (name === "second account number") return state.accounts[1] && state.accounts[1].number;
    return undefined;
  }
  return {
    state: state,
    fill: function (body) {
      return body.replace(/\\{\\{([^{}]+)\\}\\}/g, function (all, name) {
        var v = value(name);
        return v === undefined ? all : v;
      });
    },
    // An answer of the flow: returns the access token to authorize with, after a Login.
    remember: function (url, status, body) {
      if (status !== 200 || !body) return undefined;
      var method = String(url).split("?")[0].split("/").slice(-2).join("/");
      if (method === "bank.v1.AuthService/Register") state.email = state.pendingEmail;
      if (method === "bank.v1.AccountService/CreateAccount" && body.account) state.accounts.push({ id: body.account.id, number: body.account.number });
      if (method === "bank.v1.AuthService/Login" && body.accessToken) {
        state.accounts = [];
        return body.accessToken;
      }
      return undefined;
    }
  };
}`;

/** Starts Swagger UI (a script file: the CSP allows no inline script). Authorization is kept
 * in the page only (persistAuthorization off: no token in localStorage); no validator badge
 * (it would call a third-party server). Login's token goes into Authorize by itself. */
export const EXPLORER_INIT_JS = `"use strict";
${EXPLORER_FLOW_JS}
function bankdRandomUUID() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  var b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}
window.addEventListener("load", function () {
  var flow = createBankdFlow(bankdRandomUUID);
  window.bankdFlow = flow;
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
    supportedSubmitMethods: ["get", "post"],
    requestInterceptor: function (req) {
      if (typeof req.body === "string") req.body = flow.fill(req.body);
      return req;
    },
    responseInterceptor: function (res) {
      var body = res.body;
      if (!body && typeof res.text === "string") {
        try { body = JSON.parse(res.text); } catch (e) { body = undefined; }
      }
      var token = flow.remember(res.url, res.status, body);
      if (token) window.ui.preauthorizeApiKey("bearerAuth", token);
      return res;
    }
  });
});
`;
