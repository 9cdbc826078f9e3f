// Loads ribbon.js in a fresh V8 context with stubbed Office and xlwings globals.
//
// As a program: `node tests/js/ribbon_stub.mjs FILE` prints {functionId: scriptName} as JSON,
// found by clicking every associated button once (tests/test_server.py uses it on the
// ribbon.js the server serves).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

export const RIBBON_PATH = fileURLToPath(new URL("../../xlperf/server/project/static/js/ribbon.js", import.meta.url));
export const RIBBON_JS = readFileSync(RIBBON_PATH, "utf8");

export function loadRibbon({ runPython, getAuth, source = RIBBON_JS } = {}) {
  const handlers = {};
  const calls = [];
  const log = [];
  const errors = [];
  const context = {
    Office: {
      actions: {
        associate(id, fn) {
          if (id in handlers) throw new Error(`associated twice: ${id}`);
          handlers[id] = fn;
        },
      },
    },
    xlwings: {
      runPython:
        runPython ??
        (async (opts) => {
          calls.push(opts);
          log.push(`runPython ${opts.scriptName}`);
          await new Promise((resolve) => setTimeout(resolve, 1));
          log.push("runPython done");
        }),
    },
    console: { error: (e) => errors.push(e), log: () => {} },
  };
  if (getAuth) context.getAuth = getAuth;
  vm.createContext(context);
  vm.runInContext(source, context, { filename: "ribbon.js" });
  return { handlers, calls, log, errors, context };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const source = readFileSync(process.argv[2], "utf8");
  const { handlers, calls } = loadRibbon({ source });
  const mapping = {};
  for (const [id, fn] of Object.entries(handlers)) {
    const before = calls.length;
    await fn({ completed() {} });
    if (calls.length !== before + 1) throw new Error(`${id}: expected one runPython call, got ${calls.length - before}`);
    mapping[id] = calls[calls.length - 1].scriptName;
  }
  process.stdout.write(JSON.stringify(mapping));
}
