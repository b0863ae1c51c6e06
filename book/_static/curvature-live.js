// Curvature Lab: "Run it live" beside every demo's static form (book/_ext/live_python.py).
//
// A chapter page names its demo calls and the site's JupyterLite in its "Run this chapter
// live" paragraph. Each static demo (figure.hl-demo) gets a button; a click starts the real
// hessian_lab demo in JupyterLite's REPL, in a frame below the static form, served by this
// site (Python runs in the browser: nothing is fetched from elsewhere). A second click stops it.
(function () {
  "use strict";

  function liveUrl(root, call) {
    const code = "from hessian_lab import demos\n" + call;
    const dark = document.documentElement.dataset.theme === "dark";
    return root + "repl/index.html?kernel=python&toolbar=1" +
      (dark ? "&theme=" + encodeURIComponent("JupyterLab Dark") : "") +
      "&code=" + encodeURIComponent(code);
  }

  function addButton(figure, root, call, index) {
    const bar = document.createElement("div");
    bar.className = "hl-live-demo-bar";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hl-live-demo-button";
    button.textContent = "Run it live";
    button.setAttribute("aria-expanded", "false");
    const note = document.createElement("span");
    note.className = "hl-live-note";
    note.textContent = "the real demo, " + call + ", in Python in your browser";
    bar.append(button, " ", note);
    figure.after(bar);
    let frame = null;
    button.addEventListener("click", function () {
      if (frame) {
        frame.remove();
        frame = null;
        button.textContent = "Run it live";
        button.setAttribute("aria-expanded", "false");
        return;
      }
      frame = document.createElement("iframe");
      frame.className = "hl-live-demo";
      frame.id = "hl-live-demo-" + index;
      frame.title = "Live demo: " + call;
      frame.src = liveUrl(root, call);
      bar.after(frame);
      button.textContent = "Stop the live demo";
      button.setAttribute("aria-expanded", "true");
      button.setAttribute("aria-controls", frame.id);
    });
  }

  function start() {
    const launch = document.querySelector(".hl-live-launch");
    if (!launch) return;
    const root = launch.dataset.liteRoot;
    let calls = [];
    try {
      calls = JSON.parse(launch.dataset.demos || "[]");
    } catch (err) {
      return;
    }
    document.querySelectorAll("figure.hl-demo").forEach(function (figure, i) {
      if (i < calls.length) addButton(figure, root, calls[i], i);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
