// An app using the unmodified Node.js Apollo client
// @lvgithub/ctrip-apollo-client through its public API only, for cmd/wharf's
// Apollo compatibility test: it prints one JSON line per event on stdout
// ("start", then "ready" or "fallback", then "change" on every update the
// client applies) and the client's log on stderr.
// Usage: node apollo-client.js DIR (DIR holds node_modules/@lvgithub/ctrip-apollo-client).
// Settings, in the environment: APOLLO_META (the meta server: Wharf's
// gateway URL), APOLLO_APP_ID, APOLLO_CLUSTER, APOLLO_NAMESPACE,
// APOLLO_ACCESS_KEY (an access key's secret), APOLLO_CONFIG_PATH (the
// client's backup file) and APOLLO_KEYS (comma-separated keys whose
// getValue each event shows in "values").
"use strict";
const dir = process.argv[2];
const resolve = (m) => require.resolve(m, { paths: [dir] });
const { version } = require(resolve("@lvgithub/ctrip-apollo-client/package.json"));
const { CtripApolloClient } = require(resolve("@lvgithub/ctrip-apollo-client"));

const env = process.env;
const ns = env.APOLLO_NAMESPACE;
const emit = (event, fields) => process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
const keys = (env.APOLLO_KEYS || "").split(",").filter((k) => k);
const view = (c) => ({
  configurations: (c && c.configurations) || null,
  releaseKey: (c && c.releaseKey) || "",
  values: Object.fromEntries(keys.map((k) => [k, client.getValue(k, ns) || ""])),
});
const log = (m) => process.stderr.write(m + "\n");

emit("start", { version });
const client = new CtripApolloClient({
  metaServerUrl: env.APOLLO_META,
  appId: env.APOLLO_APP_ID,
  clusterName: env.APOLLO_CLUSTER,
  namespaceList: [ns],
  accessKey: env.APOLLO_ACCESS_KEY,
  configPath: env.APOLLO_CONFIG_PATH,
  initTimeoutMs: 5000,
  onChange: (all) => emit("change", view(all[ns])),
  logger: { info: log, error: log },
});
client.ready().then(
  () => emit("ready", view(client.getConfigs()[ns])),
  (err) => emit("fallback", { ...view(client.getConfigs()[ns]), error: String(err && err.message) }),
);
