// 绩效自评 for WPS 表格: the ribbon's callbacks (ribbon.xml). A second client of `xlperf serve`:
// it reads the active workbook through the ET object model, sends the book payload xlwings' Office.js
// client sends, and applies the actions the server returns with Range.Value2 & co., then
// Application.Calculate(). It never writes the open file on disk. No ribbon callback is async
// (a WPS 12.1 build dropped async callbacks): OnAction starts the request and returns.
/* global XLPERF_CONFIG, XLPERF_ACTIONS */
"use strict";

var xlperfBusy = false;
var xlperfRibbon = null;

// Some WPS builds expose members as properties, others as zero-argument methods.
function xlperfGet(obj, name) {
  var v = obj[name];
  return typeof v === "function" ? v.call(obj) : v;
}

function OnAddinLoad(ribbonUI) {
  xlperfRibbon = ribbonUI;
  return true;
}

function OnGetEnabled(control) {
  return true;
}

function OnAction(control) {
  var id = xlperfGet(control, "Id");
  var action = XLPERF_ACTIONS[id];
  if (!action) {
    alert("绩效自评：未知的按钮“" + id + "”，请重新安装加载项（xlperf wps install）。");
    return true;
  }
  if (xlperfBusy) {
    alert("绩效自评：上一个操作还没有完成，请稍候。");
    return true;
  }
  var app = window.Application;
  var wb = xlperfGet(app, "ActiveWorkbook");
  if (!wb) {
    alert("绩效自评：请先打开绩效自评工作簿。");
    return true;
  }
  // 导出, 生成报告, 发送邮件: the saved file's content, i.e. the cells of a book with no unsaved change. The
  // payload is the one Office.js sends (no path): the server writes what it makes into its own download
  // folder, never beside a path a request names; the files come back as a download link (xlperfDownloads).
  if (action.savedFile && (!xlperfGet(wb, "Path") || !xlperfGet(wb, "Saved"))) {
    alert("“" + action.label + "”按最近一次保存的工作簿文件进行：请先保存工作簿（Ctrl+S），再点击“" + action.label + "”。");
    return true;
  }
  var payload;
  try {
    payload = xlperfPayload(app, wb);
  } catch (e) {
    alert("绩效自评：无法读取工作簿（" + e + "），工作簿没有被改动。");
    return true;
  }
  xlperfBusy = true;
  try {
    app.StatusBar = "绩效自评：正在" + action.label + "……";
  } catch (e) { /* not every build has a status bar */ }
  xlperfCall(action.script, payload).then(function (actions) {
    xlperfApply(app, wb, actions);
  }).catch(function (message) {
    alert("绩效自评：" + message);
  }).then(function () {
    xlperfBusy = false;
    try { app.StatusBar = false; } catch (e) { /* see above */ }
  });
  return true;
}

// ---- the request ---------------------------------------------------------------------------
function xlperfCall(script, payload) {
  var port = XLPERF_CONFIG.port;
  var url = "http://127.0.0.1:" + port + "/xlwings/custom-scripts-call/" + encodeURIComponent(script);
  return fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-Xlperf-Token": XLPERF_CONFIG.token},
    body: JSON.stringify(payload)
  }).catch(function () {
    throw "无法连接本机的 xlperf 服务（127.0.0.1:" + port + "），工作簿没有被改动。请重新登录电脑，"
      + "或在终端运行 xlperf serve --port " + port + " --token-file（见 xlperf wps install 的提示）后重试。";
  }).then(function (response) {
    return response.text().then(function (text) {
      var data = null;
      try { data = JSON.parse(text); } catch (e) { /* answered below */ }
      if (!response.ok) {
        throw (data && data.detail ? data.detail : "xlperf 服务出错（HTTP " + response.status + "）")
          + "。工作簿没有被改动。";
      }
      if (!data || !Array.isArray(data.actions)) {
        throw "xlperf 服务的回答无法识别，工作簿没有被改动。";
      }
      return data.actions;
    });
  });
}

// ---- the payload (what xlwings' Office.js client sends) --------------------------------------
function xlperfPayload(app, wb) {
  var sheets = xlperfGet(wb, "Worksheets");
  var count = xlperfGet(sheets, "Count");
  var out = [];
  for (var i = 1; i <= count; i++) {
    out.push(xlperfSheet(sheets.Item(i)));
  }
  var active = xlperfGet(wb, "ActiveSheet");
  var activeIndex = active ? xlperfGet(active, "Index") - 1 : 0;
  return {
    client: "Office.js",
    version: XLPERF_CONFIG.version,
    book: {name: xlperfGet(wb, "Name"), active_sheet_index: activeIndex >= 0 && activeIndex < count ? activeIndex : 0,
           selection: "A1"},
    names: xlperfNames(wb, out),
    sheets: out
  };
}

function xlperfSheet(ws) {
  var used = xlperfGet(ws, "UsedRange");
  var rows = 0, columns = 0;
  if (used) {
    rows = xlperfGet(used, "Row") + xlperfGet(xlperfGet(used, "Rows"), "Count") - 1;
    columns = xlperfGet(used, "Column") + xlperfGet(xlperfGet(used, "Columns"), "Count") - 1;
  }
  var values = [[""]];
  if (rows > 0 && columns > 0) {
    var raw = ws.Range(ws.Cells(1, 1), ws.Cells(rows, columns)).Value2;
    if (!Array.isArray(raw)) {
      raw = [[raw]];
    }
    values = raw.map(function (row) {
      return row.map(function (v) { return v === null || v === undefined ? "" : v; });
    });
  }
  return {name: xlperfGet(ws, "Name"), values: values, pictures: [], tables: []};
}

function xlperfNames(wb, sheets) {
  var names = xlperfGet(wb, "Names");
  var out = [];
  var count = names ? xlperfGet(names, "Count") : 0;
  var index = {};
  sheets.forEach(function (s, i) { index[s.name] = i; });
  for (var i = 1; i <= count; i++) {
    var n = names.Item(i);
    var full = xlperfGet(n, "Name");
    var cut = full.lastIndexOf("!");
    var scope = cut >= 0 ? full.slice(0, cut).replace(/^'|'$/g, "").replace(/''/g, "'") : null;
    var entry = {name: cut >= 0 ? full.slice(cut + 1) : full, refers_to: xlperfGet(n, "RefersTo"),
                 sheet_index: null, address: null, book_scope: scope === null,
                 scope_sheet_name: scope, scope_sheet_index: scope === null ? null : index[scope]};
    if (scope !== null && entry.scope_sheet_index === undefined) {
      continue; // a name of a chart sheet or a hidden macro sheet: not sent, as Office.js does not list them
    }
    try {
      var target = xlperfGet(n, "RefersToRange");
      entry.sheet_index = index[xlperfGet(xlperfGet(target, "Worksheet"), "Name")];
      entry.address = target.Address(false, false);
      entry.type = "Range";
    } catch (e) {
      entry.type = "String";
      entry.sheet_index = null;
    }
    out.push(entry);
  }
  return out;
}

// ---- the actions (what xlwings' Office.js client does with them, through the ET object model) ----
var XL_EDGES = {edge_left: 7, edge_top: 8, edge_bottom: 9, edge_right: 10, inside_vertical: 11, inside_horizontal: 12,
                diagonal_down: 5, diagonal_up: 6};
var XL_LINE = {Continuous: 1, Dash: -4115, DashDot: 4, DashDotDot: 5, Dot: -4118, Double: -4119, None: -4142,
               SlantDashDot: 13};
var XL_WEIGHT = {Hairline: 1, Thin: 2, Medium: -4138, Thick: 4};
var XL_HALIGN = {General: 1, Left: -4131, Center: -4108, Right: -4152, Fill: 5, Justify: -4130,
                 CenterAcrossSelection: 7, Distributed: -4117};
var XL_VALIGN = {Top: -4160, Center: -4108, Bottom: -4107, Justify: -4130, Distributed: -4117};
var POINTS_PER_CHARACTER = 7 * 0.75; // Office.js sizes columns in points, ET in characters

function xlperfColor(hex) { // "#RRGGBB" -> the BGR integer of the object model
  var n = parseInt(String(hex).replace("#", ""), 16);
  return ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff);
}

function xlperfRange(wb, a) {
  var ws = xlperfGet(wb, "Worksheets").Item(a.sheet_position + 1);
  return ws.Range(ws.Cells(a.start_row + 1, a.start_column + 1),
                  ws.Cells(a.start_row + a.row_count, a.start_column + a.column_count));
}

function xlperfSheetAt(wb, position) {
  return xlperfGet(wb, "Worksheets").Item(position + 1);
}

var XLPERF_HANDLERS = {
  setValues: function (wb, a) { xlperfRange(wb, a).Value2 = a.values; },
  rangeClearContents: function (wb, a) { xlperfRange(wb, a).ClearContents(); },
  rangeClearFormats: function (wb, a) { xlperfRange(wb, a).ClearFormats(); },
  rangeClear: function (wb, a) { xlperfRange(wb, a).Clear(); },
  addSheet: function (wb, a) {
    var sheets = xlperfGet(wb, "Worksheets");
    var position = parseInt(a.args[0], 10);
    var ws = position <= 0 ? sheets.Add(sheets.Item(1)) : sheets.Add(null, sheets.Item(Math.min(position, xlperfGet(sheets, "Count"))));
    if (a.args[1] !== null && a.args[1] !== undefined) {
      ws.Name = String(a.args[1]);
    }
  },
  sheetDelete: function (wb, a) {
    var app = window.Application;
    var alerts = app.DisplayAlerts;
    app.DisplayAlerts = false; // the sheet is xlperf's own generated sheet: no confirmation
    try { xlperfSheetAt(wb, a.sheet_position).Delete(); } finally { app.DisplayAlerts = alerts; }
  },
  sheetClear: function (wb, a) { xlperfGet(xlperfSheetAt(wb, a.sheet_position), "Cells").Clear(); },
  sheetClearContents: function (wb, a) { xlperfGet(xlperfSheetAt(wb, a.sheet_position), "Cells").ClearContents(); },
  sheetClearFormats: function (wb, a) { xlperfGet(xlperfSheetAt(wb, a.sheet_position), "Cells").ClearFormats(); },
  setSheetName: function (wb, a) { xlperfSheetAt(wb, a.sheet_position).Name = String(a.args[0]); },
  activateSheet: function (wb, a) { xlperfSheetAt(wb, parseInt(a.args[0], 10)).Activate(); },
  setScreenUpdating: function (wb, a) { window.Application.ScreenUpdating = Boolean(a.args[0]); },
  setNumberFormat: function (wb, a) { xlperfRange(wb, a).NumberFormat = String(a.args[0]); },
  rangeMerge: function (wb, a) { xlperfRange(wb, a).Merge(Boolean(a.args[0])); },
  rangeUnmerge: function (wb, a) { xlperfRange(wb, a).UnMerge(); },
  setColumnWidth: function (wb, a) { xlperfRange(wb, a).ColumnWidth = a.args[0] / POINTS_PER_CHARACTER; },
  setRowHeight: function (wb, a) { xlperfRange(wb, a).RowHeight = a.args[0]; },
  setAutofit: function (wb, a) {
    var r = xlperfRange(wb, a);
    xlperfGet(a.args[0] === "rows" ? xlperfGet(r, "Rows") : xlperfGet(r, "Columns"), "AutoFit");
  },
  setFontProperty: function (wb, a) {
    var font = xlperfGet(xlperfRange(wb, a), "Font");
    var prop = {name: "Name", size: "Size", bold: "Bold", italic: "Italic", color: "Color"}[a.args[0]];
    if (!prop) { throw "font." + a.args[0]; }
    font[prop] = prop === "Color" ? xlperfColor(a.args[1]) : a.args[1];
  },
  setRangeColor: function (wb, a) { xlperfGet(xlperfRange(wb, a), "Interior").Color = xlperfColor(a.args[0]); },
  setBorderProperty: function (wb, a) {
    var border = xlperfRange(wb, a).Borders(XL_EDGES[a.args[0]]);
    var prop = a.args[1], value = a.args[2];
    if (prop === "color") { border.Color = xlperfColor(value); }
    else if (prop === "style") { border.LineStyle = XL_LINE[value]; }
    else if (prop === "weight") { border.Weight = XL_WEIGHT[value]; }
    else { throw "border." + prop; }
  },
  setHorizontalAlignment: function (wb, a) { xlperfRange(wb, a).HorizontalAlignment = XL_HALIGN[a.args[0]]; },
  setVerticalAlignment: function (wb, a) { xlperfRange(wb, a).VerticalAlignment = XL_VALIGN[a.args[0]]; },
  setWrapText: function (wb, a) { xlperfRange(wb, a).WrapText = Boolean(a.args[0]); },
  addHyperlink: function (wb, a) {
    var r = xlperfRange(wb, a);
    var address = String(a.args[0]);
    var inside = address.charAt(0) === "#";
    xlperfGet(r.Worksheet, "Hyperlinks").Add(r, inside ? "" : address, inside ? address.slice(1) : "",
                                              a.args[2] || "", String(a.args[1]));
  },
  namesAdd: function (wb, a) {
    var owner = a.sheet_position === null || a.sheet_position === undefined ? wb : xlperfSheetAt(wb, a.sheet_position);
    xlperfGet(owner, "Names").Add(String(a.args[0]), String(a.args[1]));
  },
  nameDelete: function (wb, a) {
    var owner = a.args[4] ? wb : xlperfSheetAt(wb, Number(a.args[5]));
    xlperfGet(owner, "Names").Item(String(a.args[2])).Delete();
  },
  freezePaneAtRange: function (wb, a) {
    var ws = xlperfSheetAt(wb, a.sheet_position);
    var m = /^\$?([A-Z]*)\$?(\d*)(?::\$?([A-Z]*)\$?(\d*))?$/.exec(String(a.args[0]).toUpperCase());
    if (!m) { throw "freeze " + a.args[0]; }
    var lastRow = parseInt(m[4] || m[2] || "0", 10);
    var lastColumn = 0;
    (m[3] || m[1] || "").split("").forEach(function (ch) { lastColumn = lastColumn * 26 + ch.charCodeAt(0) - 64; });
    ws.Activate();
    var win = xlperfGet(window.Application, "ActiveWindow");
    win.FreezePanes = false;
    win.SplitRow = lastRow;
    win.SplitColumn = lastColumn;
    win.FreezePanes = true;
  },
  setPrintArea: function (wb, a) { xlperfGet(xlperfSheetAt(wb, a.sheet_position), "PageSetup").PrintArea = String(a.args[0]); },
  rangeSelect: function (wb, a) { xlperfRange(wb, a).Select(); }
};
// The score chart on 汇总 is drawn by Excel only: WPS gets the table it is drawn from (and is told so).
var XLPERF_CHART = {addChart: 1, setChartXAxisValues: 1, setChartTitle: 1, setChartAxis: 1, setChartLegend: 1};

function xlperfApply(app, wb, actions) {
  var alerts = [], missed = {}, chart = false;
  var screen = app.ScreenUpdating;
  app.ScreenUpdating = false;
  try {
    actions.forEach(function (a) {
      if (a.func === "alert") {
        alerts.push(String(a.args[0]));
      } else if (XLPERF_CHART[a.func]) {
        chart = true;
      } else if (XLPERF_HANDLERS[a.func]) {
        try {
          XLPERF_HANDLERS[a.func](wb, a);
        } catch (e) {
          if (a.func === "setValues" || a.func === "addSheet" || a.func === "sheetDelete") {
            throw "写入工作簿时出错（" + a.func + "：" + e + "），结果可能不完整：请关闭工作簿不保存，重新打开后再试。";
          }
          missed[a.func] = true; // a format WPS refused: the values are there, say so below
        }
      } else {
        missed[a.func] = true;
      }
    });
  } finally {
    app.ScreenUpdating = screen;
  }
  app.Calculate();
  var notes = [];
  if (chart) {
    notes.push("WPS 中没有绘制“汇总”工作表的得分图表（数据已写入）。");
  }
  var skipped = Object.keys(missed);
  if (skipped.length) {
    notes.push("以下格式未能在 WPS 中设置（数值已写入）：" + skipped.join("、") + "。");
  }
  var made = xlperfDownloads(alerts.concat(notes).join("\n\n"));
  if (made.text) {
    alert(made.text);
  }
  xlperfOffer(app, made.links);
}

// ---- the files made (导出, 生成报告, 发送邮件's send log) -------------------------------------------
// The server answers with its download address relative to itself (the web task pane's alert is served by
// the same server). WPS shows a plain alert: the address is made whole (http://127.0.0.1:port/...), so the
// user can open it, and the add-in offers to open it in the system's browser, which saves the .zip in the
// user's download folder. Nothing is written beside the open workbook.
var XLPERF_DOWNLOAD = /（下载）(\/xlperf\/downloads\/[A-Za-z0-9_-]+\/[^\s]+)/g;

function xlperfDownloads(text) {
  var links = [];
  var base = "http://127.0.0.1:" + XLPERF_CONFIG.port;
  text = text.replace(XLPERF_DOWNLOAD, function (all, path) {
    links.push(base + encodeURI(path));
    return "（下载）" + base + path;
  });
  return {text: text, links: links};
}

function xlperfOffer(app, links) {
  if (!links.length) {
    return;
  }
  var assist = null;
  try { assist = xlperfGet(app, "OAAssist"); } catch (e) { /* an older build: the link is in the alert */ }
  if (!assist || !confirm("是否在浏览器中打开下载链接？文件将保存到浏览器的下载文件夹（链接 2 小时内有效）。")) {
    return;
  }
  links.forEach(function (link) {
    try {
      assist.ShellExecute(link);
    } catch (e) {
      alert("绩效自评：无法打开浏览器（" + e + "），请把对话框中的下载链接复制到浏览器中打开：\n" + link);
    }
  });
}
