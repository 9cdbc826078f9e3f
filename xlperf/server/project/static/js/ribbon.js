// The 绩效自评 ribbon tab: each button of templates/manifest.xml (its <FunctionName>)
// runs one script of custom_scripts/ through xlwings.runPython, which sends the
// workbook to the server and applies the actions that come back.
//
// A classic script loaded by the task pane page (the add-in's shared runtime),
// after xlwings' own module that defines globalThis.xlwings. Tested by
// tests/js/ribbon.test.mjs against a stubbed Office/xlwings.
(function () {
  "use strict";

  // Ribbon function id (manifest.xml <FunctionName>) -> custom script name
  // (the action's function of xlperf.excel; the same scripts serve the WPS add-in).
  const RIBBON_SCRIPTS = {
    // BEGIN generated: scripts (python -m xlperf.server.ribbon, from xlperf/actions/actions.toml)
    "xlperf-recalc": "recalc",
    "xlperf-check": "check",
    "xlperf-export": "export",
    "xlperf-report": "word_report",
    "xlperf-mail": "mail",
    // END generated
  };

  // Only one script at a time: a second click while the workbook is being
  // scored would send the workbook again and write the same sheets twice.
  let running = false;

  function handler(scriptName) {
    return async function (event) {
      if (running) {
        event.completed();
        return;
      }
      running = true;
      try {
        const auth =
          typeof globalThis.getAuth === "function"
            ? await globalThis.getAuth()
            : { token: "", provider: "" };
        // runPython shows its own alert when the call fails.
        await globalThis.xlwings.runPython({
          scriptName: scriptName,
          auth: auth.token,
          headers: { "Auth-Provider": auth.provider },
        });
      } catch (error) {
        console.error(error);
      } finally {
        running = false;
        // Office requires this, or the button stays busy.
        event.completed();
      }
    };
  }

  for (const [functionId, scriptName] of Object.entries(RIBBON_SCRIPTS)) {
    Office.actions.associate(functionId, handler(scriptName));
  }
})();
