// Written by `xlperf wps install` (port and per-install token of the local xlperf service).
var XLPERF_CONFIG = {"port": 0, "token": "", "version": ""};
