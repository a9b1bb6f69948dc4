// Reference runner for Wharf's A/B engine side-by-side test: reads one
// JSON request on stdin, answers with GrowthBook's JS SDK on stdout.
// Usage: node growthbook-ref.js DIR (DIR holds node_modules/@growthbook/growthbook).
"use strict";
const path = require("path");
const dir = process.argv[2];
const sdk = require(require.resolve("@growthbook/growthbook", { paths: [dir] }));
const util = require(path.join(path.dirname(require.resolve("@growthbook/growthbook", { paths: [dir] })), "util.js"));
console.error = () => {}; // the SDK logs unknown operators and bad weights
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const out = {
    version: require(require.resolve("@growthbook/growthbook/package.json", { paths: [dir] })).version,
    hash: req.hash.map(([s, v, ver]) => util.hash(s, v, ver)),
    ranges: req.ranges.map(([n, c, w]) => util.getBucketRanges(n, c, w === null ? undefined : w)),
    choose: req.choose.map(([n, r]) => util.chooseVariation(n, r)),
    ns: req.ns.map(([id, ns, s, e]) => util.inNamespace(id, [ns, s, e])),
    cond: req.cond.map(([a, c, g]) => {
      try {
        return sdk.evalCondition(a, c, g);
      } catch (e) {
        return "throws: " + e.message;
      }
    }),
  };
  process.stdout.write(JSON.stringify(out));
});
