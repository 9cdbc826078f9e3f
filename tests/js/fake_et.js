// A fake WPS 表格 (ET) `Application` for the WPS add-in's page in headless Chromium (tests/test_wps.py).
// It models what main.js uses of the ET object model, synchronously and 1-based like ET: workbooks,
// worksheets (Add/Delete/Name/Index), UsedRange, Range(cell, cell)/Cells, Value2 (2-D arrays, scalars for
// one cell), NumberFormat per cell, Names, OAAssist.ShellExecute, and records every formatting property written. Unknown
// members throw, so main.js cannot rely on something the fake does not model without a test failing.
// FakeET.load(book) fills it (book.path: the folder of a saved file, book.saved: false for unsaved changes); FakeET.dump() returns the cells (value and number format) of every sheet.
"use strict";

(function () {
  function Cells(sheet) { this.sheet = sheet; }

  function strict(target, what) {
    return new Proxy(target, {
      get: function (t, k) {
        if (k in t || typeof k === "symbol") { return t[k]; }
        throw new Error("fake ET: " + what + "." + String(k) + " is not modelled");
      }
    });
  }

  function recorder(book, what) { // Font, Interior, Borders(i), PageSetup, Window: remembers what is set
    return new Proxy({}, {
      set: function (t, k, v) { t[k] = v; book.formats.push([what, k, v]); return true; },
      get: function (t, k) { return t[k]; }
    });
  }

  function Range(sheet, r1, c1, r2, c2) {
    var self = {Row: r1, Column: c1, Worksheet: sheet.api};
    self.Rows = {Count: r2 - r1 + 1, AutoFit: function () {}};
    self.Columns = {Count: c2 - c1 + 1, AutoFit: function () {}};
    function each(f) {
      for (var r = r1; r <= r2; r++) { for (var c = c1; c <= c2; c++) { f(r, c); } }
    }
    Object.defineProperty(self, "Value2", {
      get: function () {
        var out = [];
        for (var r = r1; r <= r2; r++) {
          var row = [];
          for (var c = c1; c <= c2; c++) { var v = sheet.cells[r + "," + c]; row.push(v === undefined ? undefined : v); }
          out.push(row);
        }
        return r1 === r2 && c1 === c2 ? out[0][0] : out;
      },
      set: function (values) {
        if (!Array.isArray(values)) { values = [[values]]; }
        if (values.length !== r2 - r1 + 1 || values.some(function (row) { return row.length !== c2 - c1 + 1; })) {
          throw new Error("fake ET: Value2 of a different shape");
        }
        each(function (r, c) {
          var v = values[r - r1][c - c1];
          if (v === null || v === "") { delete sheet.cells[r + "," + c]; } else { sheet.cells[r + "," + c] = v; }
        });
      }
    });
    Object.defineProperty(self, "NumberFormat", {
      set: function (f) { each(function (r, c) { sheet.formats[r + "," + c] = f; }); }
    });
    ["ColumnWidth", "RowHeight", "HorizontalAlignment", "VerticalAlignment", "WrapText"].forEach(function (k) {
      Object.defineProperty(self, k, {set: function (v) { sheet.book.formats.push([k, v]); }});
    });
    self.Font = recorder(sheet.book, "Font");
    self.Interior = recorder(sheet.book, "Interior");
    self.Borders = function (i) { return recorder(sheet.book, "Border" + i); };
    self.Merge = function (across) { sheet.book.formats.push(["Merge", r1, c1, r2, c2, across]); };
    self.ClearContents = function () { each(function (r, c) { delete sheet.cells[r + "," + c]; }); };
    self.Address = function () { return "R" + r1 + "C" + c1; };
    return strict(self, "Range");
  }

  function makeSheet(book, name) {
    var sheet = {book: book, name: name, cells: {}, formats: {}};
    var api = {
      get Name() { return sheet.name; },
      set Name(v) {
        if (book.sheets.some(function (s) { return s !== sheet && s.name.toLowerCase() === String(v).toLowerCase(); })) {
          throw new Error("fake ET: a second sheet named " + v);
        }
        sheet.name = String(v);
      },
      get Index() { return book.sheets.indexOf(sheet) + 1; },
      get UsedRange() {
        var keys = Object.keys(sheet.cells);
        if (!keys.length) { return Range(sheet, 1, 1, 1, 1); }
        var rs = keys.map(function (k) { return +k.split(",")[0]; }), cs = keys.map(function (k) { return +k.split(",")[1]; });
        return Range(sheet, Math.min.apply(null, rs), Math.min.apply(null, cs), Math.max.apply(null, rs), Math.max.apply(null, cs));
      },
      Cells: function (r, c) { return {row: r, column: c}; },
      Range: function (a, b) { return Range(sheet, a.row, a.column, b.row, b.column); },
      Names: {Add: function (n, refersTo) { book.names.push({Name: sheet.name + "!" + n, RefersTo: refersTo}); }},
      Hyperlinks: {Add: function (anchor, address, sub, tip, text) { book.formats.push(["Hyperlink", sub || address, text]); }},
      PageSetup: recorder(book, "PageSetup"),
      Activate: function () { book.active = sheet; },
      Delete: function () {
        if (book.app.DisplayAlerts !== false) { throw new Error("fake ET: Delete() would ask the user"); }
        book.sheets.splice(book.sheets.indexOf(sheet), 1);
      }
    };
    sheet.api = strict(api, "Worksheet");
    return sheet;
  }

  function load(data) {
    var book = {sheets: [], names: [], formats: [], saved: data.saved !== false};
    var app = {DisplayAlerts: true, ScreenUpdating: true, StatusBar: false, calculated: 0, opened: []};
    book.app = app;
    data.sheets.forEach(function (s) {
      var sheet = makeSheet(book, s.name);
      s.values.forEach(function (row, i) {
        row.forEach(function (v, j) { if (v !== "" && v !== null) { sheet.cells[(i + 1) + "," + (j + 1)] = v; } });
      });
      book.sheets.push(sheet);
    });
    book.active = book.sheets[0];
    (data.names || []).forEach(function (n) {
      var name = n.book_scope ? n.name : "'" + n.scope_sheet_name.replace(/'/g, "''") + "'!" + n.name;
      book.names.push({Name: name, RefersTo: n.refers_to});
    });
    var worksheets = {
      get Count() { return book.sheets.length; },
      Item: function (i) {
        if (i < 1 || i > book.sheets.length) { throw new Error("fake ET: no sheet " + i); }
        return book.sheets[i - 1].api;
      },
      Add: function (before, after) {
        var sheet = makeSheet(book, "Sheet" + (book.sheets.length + 1));
        var at = before ? before.Index - 1 : after.Index;
        book.sheets.splice(at, 0, sheet);
        return sheet.api;
      }
    };
    var names = {
      get Count() { return book.names.length; },
      Item: function (i) {
        var n = book.names[i - 1];
        return {Name: n.Name, RefersTo: n.RefersTo, get RefersToRange() { throw new Error("not a range"); }};
      },
      Add: function (n, refersTo) { book.names.push({Name: n, RefersTo: refersTo}); }
    };
    var wb = {
      Name: data.name, FullName: (data.path ? data.path + "/" : "") + data.name, Path: data.path || "",
      get Saved() { return book.saved; },
      Worksheets: strict(worksheets, "Worksheets"),
      Names: names,
      get ActiveSheet() { return book.active.api; }
    };
    app.ActiveWorkbook = strict(wb, "Workbook");
    app.ActiveWindow = recorder(book, "Window");
    app.Calculate = function () { app.calculated += 1; };
    // WPS's OAAssist.ShellExecute opens a file or an address with the system's program (here: remembered).
    app.OAAssist = strict({ShellExecute: function (target) { app.opened.push(String(target)); }}, "OAAssist");
    window.Application = strict(app, "Application");
    window.FakeET = {book: book, app: app, load: load, dump: dump};
    return window.Application;
  }

  function dump() {
    var book = window.FakeET.book;
    return {
      calculated: book.app.calculated,
      opened: book.app.opened.slice(),
      sheets: book.sheets.map(function (s) {
        return {name: s.name, cells: Object.keys(s.cells).map(function (k) {
          var rc = k.split(",");
          return [+rc[0], +rc[1], s.cells[k], s.formats[k] || null];
        })};
      })
    };
  }

  window.FakeET = {load: load, dump: dump};
})();
