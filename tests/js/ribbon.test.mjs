// ribbon.js (the 绩效自评 tab on Excel on the web and Mac) against a stubbed Office/xlwings.
// Run: node --test tests/js/ribbon.test.mjs (tests/test_server.py runs it under pytest).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadRibbon, RIBBON_JS } from "./ribbon_stub.mjs";

const MANIFEST = new URL("../../xlperf/server/project/templates/manifest.xml", import.meta.url);
const functionNames = [...readFileSync(MANIFEST, "utf8").matchAll(/<FunctionName>\s*([^<\s]+)\s*<\/FunctionName>/g)]
  .map((m) => m[1]);

function fakeEvent() {
  const event = { completions: 0 };
  event.completed = () => {
    event.completions += 1;
  };
  return event;
}

test("the manifest has the five ribbon buttons", () => {
  assert.deepEqual(functionNames.sort(),
    ["xlperf-check", "xlperf-export", "xlperf-mail", "xlperf-recalc", "xlperf-report"]);
});

test("every ribbon button of the manifest is associated, and nothing else", () => {
  const { handlers } = loadRibbon();
  assert.deepEqual(Object.keys(handlers).sort(), [...functionNames].sort());
  for (const fn of Object.values(handlers)) assert.equal(typeof fn, "function");
});

test("a click runs its script once, then completes the event", async () => {
  const expected = {
    "xlperf-recalc": "recalc", "xlperf-check": "check", "xlperf-export": "export",
    "xlperf-report": "word_report", "xlperf-mail": "mail",
  };
  for (const [functionId, scriptName] of Object.entries(expected)) {
    const { handlers, calls, log } = loadRibbon();
    const event = fakeEvent();
    event.completed = () => log.push("completed");
    await handlers[functionId](event);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].scriptName, scriptName);
    // The whole workbook goes to the server: no include/exclude.
    assert.equal(calls[0].include, undefined);
    assert.equal(calls[0].exclude, undefined);
    assert.deepEqual(log, [`runPython ${scriptName}`, "runPython done", "completed"]);
  }
});

test("the event is completed even when runPython fails", async () => {
  const { handlers, errors } = loadRibbon({ runPython: async () => { throw new Error("无法连接服务器"); } });
  const event = fakeEvent();
  await handlers["xlperf-recalc"](event);
  assert.equal(event.completions, 1);
  assert.match(String(errors[0]), /无法连接服务器/);
  // Not stuck as busy afterwards: the next click runs again.
  let ran = 0;
  const again = loadRibbon({ runPython: async () => { ran += 1; } });
  await again.handlers["xlperf-check"](fakeEvent());
  assert.equal(ran, 1);
});

test("a second click while a script runs is ignored (but completed)", async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  const { handlers, calls } = loadRibbon({ runPython: async (opts) => { calls.push(opts); await gate; } });
  const first = fakeEvent(), second = fakeEvent(), third = fakeEvent();
  const running = handlers["xlperf-recalc"](first);
  await handlers["xlperf-check"](second);
  assert.equal(second.completions, 1);
  assert.equal(first.completions, 0);
  release();
  await running;
  assert.equal(first.completions, 1);
  assert.deepEqual(calls.map((c) => c.scriptName), ["recalc"]);
  await handlers["xlperf-check"](third);  // free again
  assert.deepEqual(calls.map((c) => c.scriptName), ["recalc", "check"]);
});

test("the sign-in token is passed on when the page provides getAuth", async () => {
  const { handlers, calls } = loadRibbon({ getAuth: async () => ({ token: "tok", provider: "entraid" }) });
  await handlers["xlperf-check"](fakeEvent());
  assert.equal(calls[0].auth, "tok");
  assert.deepEqual({ ...calls[0].headers }, { "Auth-Provider": "entraid" });  // (an object of the other V8 context)
});

test("ribbon.js defines no globals of its own", () => {
  const { context } = loadRibbon();
  const own = Object.keys(context).filter((k) => !["Office", "xlwings", "console", "getAuth"].includes(k));
  assert.deepEqual(own, []);
  assert.ok(RIBBON_JS.length > 0);
});
