/* dlcourse: make the Jupyter widgets' HTML manager work offline and with MathJax 3.
 *
 * Loaded (by myst-nb, see nb_ipywidgets_js in _config.yml) only on pages with widget outputs,
 * just before require.js and embed-amd.js.
 *
 * 1. embed-amd.js defines its modules under the AMD name "@jupyter-widgets/html-manager/dist/...",
 *    and each finds its assets (the widgets' icon fonts) from where RequireJS says that name lives:
 *    beside the page unless told otherwise, where they do not exist. A `require` object defined
 *    before require.js loads is RequireJS's configuration: map that name to the vendored folder.
 *    (tools/vendor.py checks that the folder named here is the pinned one.)
 * 2. ipywidgets typesets widget labels with the MathJax 2 call
 *    `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`. The site loads MathJax 3, which has
 *    no `Hub` (the call threw "Cannot read properties of undefined (reading 'Queue')"): give it a
 *    Hub whose Queue forwards to MathJax 3's typesetPromise. MathJax 3 replaces `window.MathJax`
 *    when its deferred script runs, so the Hub is added at DOMContentLoaded, after deferred scripts
 *    and before the widgets render (on the window's load event).
 */
(function () {
  "use strict";

  var dist = new URL("../vendor/html-manager-1.0.15/dist/", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = dist;
  window.require = { paths: { "@jupyter-widgets/html-manager/dist": dist.replace(/\/$/, "") } };

  function typeset(element) {
    var mathjax = window.MathJax;
    var ready = (mathjax.startup && mathjax.startup.promise) || Promise.resolve();
    return ready
      .then(function () {
        return mathjax.typesetPromise(element ? [element] : undefined);
      })
      .catch(function (error) {
        console.error("MathJax could not typeset a widget label:", error);
      });
  }

  function addHub() {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.startup || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") {
            typeset(job[2]);
          } else if (typeof job === "function") {
            job();
          }
        });
      },
    };
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addHub);
  } else {
    addHub();
  }
})();
