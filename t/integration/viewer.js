// SPDX-License-Identifier: BSD-2-Clause
// The viewer page in headless Chromium (playwright-core, Debian's
// chromium): asserts on the DOM and keeps screenshots.  Called by
// t/integration/viewer.sh with: VIEWER_URL OTHER_ORIGIN_URL EXECUTION_ID
// REQUEST_ID SCREENSHOT_DIR PROFILE_DIR.  Prints TAP lines as "# ..."
// comments and exits 1 on the first failure.
"use strict";
const { chromium } = require("playwright-core");

const [viewer, other, execId, reqId, shots, profile, flowId, failId] =
  process.argv.slice(2);
let failures = 0;

function check(cond, name) {
  console.log((cond ? "# ok - " : "# not ok - ") + name);
  if (!cond) failures++;
}

(async () => {
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  // workflows: cards with charts and the graph of each workflow
  await page.goto(viewer);
  await page.waitForSelector(".card.workflow svg.wfgraph g.node");
  const nodes = await page.$$eval('.card.workflow[data-key="orders"] g.node',
    (ns) => ns.map((n) => n.getAttribute("data-node")));
  check(["total", "big", "save", "small", "label"].every((k) => nodes.includes(k)),
        "the orders graph has every node, branches included: " + nodes);
  const fan = await page.$$eval('.card.workflow[data-key="fanout"] g.node',
    (ns) => ns.map((n) => n.getAttribute("data-node")));
  check(["each", "double", "both", "left", "right", "after", "done"]
          .every((k) => fan.includes(k)),
        "a loop's body and a parallel node's lists are drawn: " + fan);
  const state = await page.textContent('.card.workflow[data-key="orders"] h2');
  check(/async/.test(state) && /enabled/.test(state),
        "the card shows the mode and state: " + state);
  await page.screenshot({ path: shots + "/workflows.png", fullPage: true });

  // requests: the 401 opened whole
  await page.goto(viewer + "#requests/" + reqId);
  await page.waitForSelector("#detail .card h2");
  const req = await page.textContent("#detail");
  check(/401 invalid_signature/.test(req), "the request shows its outcome");
  check(/\[redacted\]/.test(req) && !/wrong-secret/.test(req),
        "the request's secret header is redacted");
  await page.click('#detail button:text-is("hex")');
  const hex = await page.textContent("#body");
  check(/^00000  7b 22 6e 22 3a 37 7d/.test(hex), "the body as hex: " + hex);
  await page.click('#detail button:text-is("text")');
  await page.screenshot({ path: shots + "/request.png", fullPage: true });

  // same-site action: the page's own replay button
  await page.click("#replay");
  await page.waitForSelector("#result a, #toast.on");
  const newId = (await page.$("#result a"))
    ? await page.textContent("#result a") : await page.textContent("#toast");
  check(/^[0-9a-f-]{36}$/.test(newId), "replay from the page is accepted: " + newId);

  // executions: the graph with each node's status; a node opens its result
  await page.goto(viewer + "#executions/" + execId);
  await page.waitForSelector(".execution g.node");
  const st = await page.$$eval(".execution g.node", (ns) =>
    Object.fromEntries(ns.map((n) => [n.getAttribute("data-node"),
                                      n.getAttribute("class")])));
  check(/s1/.test(st.total) && /s1/.test(st.save) && /skip/.test(st.small),
        "node statuses are drawn: " + JSON.stringify(st));
  await page.click('.execution g.node[data-node="save"]');
  const node = await page.textContent("#node");
  check(/save \(create\): resolved/.test(node), "a node opens its result: " + node);
  const rows = await page.$$eval("tr.row", (rs) => rs.length);
  check(rows >= 3, "the execution list has the runs: " + rows);
  await page.screenshot({ path: shots + "/execution.png", fullPage: true });

  // a loop and a parallel node in a run; a run that failed
  await page.goto(viewer + "#executions/" + flowId);
  await page.waitForSelector(".execution g.node");
  const fl = await page.$$eval(".execution g.node", (ns) =>
    Object.fromEntries(ns.map((n) => [n.getAttribute("data-node"),
                                      n.getAttribute("class")])));
  check(/s1/.test(fl.each) && /s1/.test(fl.double) && /s1/.test(fl.left) &&
        /s1/.test(fl.right) && /s1/.test(fl.done),
        "loop and parallel branches show their statuses: " + JSON.stringify(fl));
  await page.screenshot({ path: shots + "/execution-flow.png", fullPage: true });
  await page.goto(viewer + "#executions/" + failId);
  await page.waitForSelector(".execution g.node");
  await page.click('.execution g.node[data-node="strict"]');
  const fx = await page.textContent(".execution");
  check(/failed/.test(fx), "a failed run says so: " + fx.slice(0, 80));
  const dn = await page.getAttribute('.execution g.node[data-node="done"]',
                                     "class");
  check(/skip/.test(dn), "the nodes after the failure did not run: " + dn);
  await page.screenshot({ path: shots + "/execution-failed.png",
                          fullPage: true });

  await page.goto(viewer + "#dead");
  await page.waitForSelector("table");
  check(/ghost/.test(await page.textContent("main")), "dead letters are listed");
  await page.screenshot({ path: shots + "/dead.png", fullPage: true });

  // cross-site: another origin's form posting to the viewer is refused
  const before = await (await page.request.get(viewer +
    "?format=executions&limit=1000")).json();
  const seen = [];
  page.on("response", (r) => seen.push(r));
  page.on("requestfailed", (r) => console.log("# failed " + r.url() + " " +
                                              r.failure().errorText));
  await page.goto(other);
  await page.waitForURL(/action=replay/);
  const resp = seen.find((r) => r.url().includes("action=replay"));
  const body = await page.textContent("body");
  check(resp && resp.status() === 403 && /forbidden/.test(body),
        "a cross-site action is refused: " + (resp && resp.status()) + " " +
        body);
  const after = await (await page.request.get(viewer +
    "?format=executions&limit=1000")).json();
  check(after.length === before.length, "... and queued nothing");

  check(errors.length === 0, "no script error: " + errors.join("; "));
  await ctx.close();
  process.exit(failures ? 1 : 0);
})().catch((e) => { console.log("# " + e); process.exit(1); });
