// The Node.js example: an HTTP service that reads the connections choreo-run injected.
// Secret values are never printed, only their lengths.
"use strict";
const http = require("node:http");

const names = [
  "CHOREO_BOOK_CATALOG_SERVICEURL",
  "CHOREO_BOOK_CATALOG_CONSUMERKEY",
  "CHOREO_SESSIONS_DB_HOSTNAME",
  "CHOREO_SESSIONS_DB_PORT",
  "CHOREO_SESSIONS_DB_DATABASENAME",
];
const secrets = ["CHOREO_BOOK_CATALOG_CONSUMERSECRET", "CHOREO_SESSIONS_DB_PASSWORD"];

function describe() {
  const lines = names.map((name) => `${name}=${process.env[name] ?? ""}`);
  for (const name of secrets) lines.push(`${name}: ${(process.env[name] ?? "").length} characters`);
  return lines.join("\n") + "\n";
}

process.stdout.write(describe());
if (process.argv[2] !== "--once") {
  const server = http.createServer((_, response) => response.end(describe()));
  server.listen(Number(process.env.PORT || 3000));
  // choreo-run forwards SIGTERM: close the server and exit cleanly.
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
