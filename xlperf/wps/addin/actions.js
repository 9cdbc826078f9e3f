// Generated from xlperf/actions/actions.toml by `python -m xlperf.wps`: do not edit.
var XLPERF_ACTIONS = {
  "recalc": {
    "script": "recalc",
    "label": "重新计算得分",
    "savedFile": false
  },
  "check": {
    "script": "check",
    "label": "检查",
    "savedFile": false
  },
  "export": {
    "script": "export",
    "label": "导出",
    "savedFile": true
  },
  "report": {
    "script": "word_report",
    "label": "生成报告",
    "savedFile": true
  },
  "mail": {
    "script": "mail",
    "label": "发送邮件",
    "savedFile": true
  }
};
