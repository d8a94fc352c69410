// Fills the notice page from what the desktop app set; text only, never markup.
(function () {
  var notice = window.__MCPFW_NOTICE__ || {};
  if (typeof notice.title === "string") {
    document.getElementById("title").textContent = notice.title;
    document.title = "MCP Firewall — " + notice.title;
  }
  if (typeof notice.body === "string") {
    var body = document.getElementById("body");
    notice.body.split(/`([^`]+)`/).forEach(function (part, i) {
      if (i % 2) {
        var code = document.createElement("code");
        code.textContent = part;
        body.append(code);
      } else {
        body.append(part);
      }
    });
  }
})();
