// SPDX-License-Identifier: BSD-2-Clause
// Node-RED settings for bench/run: one process, the runtime only (no
// editor or admin API, so no credentials to set up), loopback, quiet.
const path = require("path");

module.exports = {
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.BENCH_PORT || "1880", 10),
    userDir: path.join(__dirname, "data"),
    flowFile: "flows.json",
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: "/",
    functionGlobalContext: { crypto: require("crypto") },
    functionExternalModules: false,
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false },
        modules: { allowInstall: false }
    },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    telemetry: { enabled: false, updateNotification: false },
    logging: {
        console: { level: "warn", metrics: false, audit: false }
    }
};
