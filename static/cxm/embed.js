/*! cxm survey widget: <script src=".../static/cxm/embed.js" data-survey="PUBLIC_ID" async></script>
 * window.cxm.survey({customer: {id, signature, email, name, properties}, touchpoint, delay, force, lang})
 * signature: HMAC-SHA256 (hex) of id with the organization's widget secret, made by your server;
 * without it the answer is anonymous.
 * One global (cxm), no dependencies, Shadow DOM, never throws into the host page. */
(function (w, d) {
  "use strict";
  if (w.cxm && w.cxm.survey) return;
  var QUEUE = "cxm_pending", SEEN = "cxm_seen_";
  var script = d.currentScript;
  if (!script) {
    var all = d.querySelectorAll("script[data-survey]");
    script = all[all.length - 1];
  }
  var base = "";
  try { base = new URL(script.src, w.location.href).origin; } catch (e) { /* no base: nothing to do */ }
  var open = false, timer = null;

  function attr(name) { return script && script.getAttribute(name); }
  function store() { try { return w.localStorage; } catch (e) { return null; } }
  function load(key) { try { var s = store(); return JSON.parse((s && s.getItem(key)) || "null"); } catch (e) { return null; } }
  function save(key, value) { try { var s = store(); if (s) s.setItem(key, JSON.stringify(value)); } catch (e) { /* full or blocked */ } }
  function uid() {
    try { if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID(); } catch (e) { /* fall through */ }
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function endpoint(id) { return base + "/api/v1/public/surveys/" + encodeURIComponent(id); }

  // Every answer is kept in localStorage until the server has it: a failed post is retried later.
  function pending() { return load(QUEUE) || {}; }
  function remember(item) { var q = pending(); q[item.body.idempotency_key] = item; save(QUEUE, q); }
  function forget(key, sentAnswers) {
    var q = pending(), item = q[key];
    if (item && JSON.stringify(item.body.answers) === sentAnswers) { delete q[key]; save(QUEUE, q); }
  }
  function send(item) {
    var key = item.body.idempotency_key, sent = JSON.stringify(item.body.answers);
    try {
      return w.fetch(endpoint(item.survey) + "/responses", {
        method: "POST", mode: "cors", credentials: "omit", keepalive: true,
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(item.body)
      }).then(function (r) {
        // 2xx: stored. 4xx other than 408/429: the server will never take it; do not retry forever.
        if (r.ok || (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429)) forget(key, sent);
        return r.ok;
      }, function () { return false; });
    } catch (e) { return { then: function () {} }; }
  }
  function flush() {
    var q = pending();
    for (var k in q) if (Object.prototype.hasOwnProperty.call(q, k)) send(q[k]);
  }

  var CSS =
    ":host{all:initial}" +
    ".p{position:fixed;right:16px;bottom:16px;z-index:2147483000;width:min(380px,calc(100vw - 32px));box-sizing:border-box;" +
    "background:#fff;color:#1b2430;border:1px solid #d9dfe7;border-radius:10px;box-shadow:0 8px 30px rgba(16,24,40,.2);" +
    "padding:16px;font:15px/1.45 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Arial,'PingFang SC','Microsoft YaHei',sans-serif;" +
    "transform:translateY(120%);transition:transform .3s ease}" +
    ".p.in{transform:none}.q{font-weight:700;margin:0 28px 10px 0}" +
    // One row of equal buttons; an 11-point scale too narrow for one row splits 0-5 / 6-10, never "10" alone.
    ".s{display:grid;grid-auto-flow:column;grid-auto-columns:minmax(0,1fr);gap:3px}" +
    "@media(max-width:359px){.s.w{grid-auto-flow:row;grid-template-columns:repeat(6,minmax(0,1fr))}}" +
    ".s button{min-width:0;min-height:36px;border:1px solid #8a96a8;border-radius:6px;background:#fff;color:#1b2430;font:inherit;font-weight:700;cursor:pointer;padding:0}" +
    ".s button:hover,.s button[aria-pressed=true]{background:#1f5fbf;border-color:#1f5fbf;color:#fff}" +
    ".l{display:flex;justify-content:space-between;font-size:12px;color:#4a5565;margin-top:4px}" +
    "textarea{width:100%;box-sizing:border-box;min-height:80px;font:inherit;padding:6px;border:1px solid #8a96a8;border-radius:6px}" +
    ".go{margin-top:8px;width:100%;min-height:38px;border:0;border-radius:6px;background:#1f5fbf;color:#fff;font:inherit;font-weight:700;cursor:pointer}" +
    ".x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:20px;line-height:1;cursor:pointer;color:#4a5565;padding:4px}" +
    "button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

  function el(tag, props, kids) {
    var n = d.createElement(tag);
    for (var k in props) if (Object.prototype.hasOwnProperty.call(props, k)) {
      if (k === "text") n.textContent = props[k]; else n.setAttribute(k, props[k]);
    }
    for (var i = 0; kids && i < kids.length; i++) n.appendChild(kids[i]);
    return n;
  }

  function render(cfg, opts, id) {
    var questions = cfg.questions || [], primary = null, i;
    for (i = 0; i < questions.length; i++) if (questions[i].min !== null && questions[i].min !== undefined) { primary = questions[i]; break; }
    if (!primary) return;
    var strings = cfg.strings || {};
    var answers = {}, key = uid();
    var customer = opts.customer || null;
    var body = {
      answers: answers, idempotency_key: key, channel: "widget", locale: cfg.language || "",
      page_url: String(w.location.href).slice(0, 2000)
    };
    if (customer) body.customer = customer;
    if (opts.touchpoint) body.touchpoint = opts.touchpoint;
    function post() {
      var item = { survey: id, body: JSON.parse(JSON.stringify(body)) };
      remember(item);
      send(item);
    }

    var host = el("div", { "data-cxm-widget": id });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var panel = el("div", { "class": "p", role: "dialog", "aria-live": "polite", "aria-label": primary.text });
    var close = el("button", { "class": "x", type: "button", "aria-label": strings.close || "Close", text: "\u00d7" });
    root.appendChild(el("style", { text: CSS }));
    root.appendChild(panel);
    function dismiss() {
      open = false;
      panel.className = "p";
      setTimeout(function () { try { host.parentNode && host.parentNode.removeChild(host); } catch (e) { /* gone */ } }, 350);
    }
    close.addEventListener("click", dismiss);
    function screen(nodes) {
      while (panel.firstChild) panel.removeChild(panel.firstChild);
      panel.appendChild(close);
      for (var j = 0; j < nodes.length; j++) panel.appendChild(nodes[j]);
    }
    function thanks() {
      screen([el("p", { "class": "q", role: "status", text: cfg.thank_you || "Thank you!" })]);
      setTimeout(dismiss, 3000);
    }
    function followUp(score) {
      var next = null;
      for (var j = 0; j < questions.length; j++) {
        var q = questions[j], c = q.show_if;
        if (q === primary || q.kind !== "text") continue;
        if (!c || (c.question === primary.id && score >= c.min && score <= c.max)) { next = q; break; }
      }
      if (!next) return thanks();
      var area = el("textarea", { id: "cxm-c", maxlength: "5000" });
      var go = el("button", { "class": "go", type: "button", text: strings.submit || "Send" });
      go.addEventListener("click", function () {
        var text = area.value.replace(/^\s+|\s+$/g, "");
        if (text) { answers[next.id] = text; post(); }
        thanks();
      });
      screen([el("label", { "class": "q", "for": "cxm-c", text: next.text }), area, go]);
      try { area.focus(); } catch (e) { /* not focusable yet */ }
    }
    var row = el("div", { "class": primary.max - primary.min > 9 ? "s w" : "s", role: "group", "aria-label": primary.text });
    for (var s = primary.min; s <= primary.max; s++) {
      (function (score) {
        var b = el("button", { type: "button", "aria-pressed": "false", text: String(score) });
        b.addEventListener("click", function () {
          answers[primary.id] = score;
          post(); // the score is kept even if the customer closes before the comment
          followUp(score);
        });
        row.appendChild(b);
      })(s);
    }
    var labels = primary.labels || [];
    screen([el("p", { "class": "q", text: primary.text }), row,
      el("div", { "class": "l", "aria-hidden": "true" }, [el("span", { text: labels[0] || "" }), el("span", { text: labels[1] || "" })])]);
    (d.body || d.documentElement).appendChild(host);
    setTimeout(function () { panel.className = "p in"; }, 30);
    save(SEEN + id, Date.now());
  }

  function survey(options) {
    try {
      var opts = options || {};
      var id = opts.survey || attr("data-survey");
      if (!id || !base || !w.fetch) return;
      if (timer) clearTimeout(timer);
      var delay = +(opts.delay !== undefined ? opts.delay : attr("data-delay") || 0);
      timer = setTimeout(function () {
        try {
          timer = null;
          if (open) return;
          var customer = opts.customer || {};
          var lang = opts.lang || attr("data-lang") || (w.navigator && w.navigator.language) || "";
          var url = endpoint(id) + "?lang=" + encodeURIComponent(lang) +
            (customer.id && customer.signature ? "&customer=" + encodeURIComponent(customer.id) +
              "&signature=" + encodeURIComponent(customer.signature) : "");
          w.fetch(url, { mode: "cors", credentials: "omit" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (cfg) {
            if (!cfg || open) return;
            if (!opts.force) {
              if (!cfg.show) return;
              var seen = load(SEEN + id), days = cfg.fatigue_days || 0;
              if (seen && days && Date.now() - seen < days * 864e5) return;
            }
            open = true;
            render(cfg, opts, id);
          }).then(null, function () { open = false; });
        } catch (e) { /* never into the host page */ }
      }, delay);
    } catch (e) { /* never into the host page */ }
  }

  try { w.addEventListener("online", flush); } catch (e) { /* old browser */ }
  var previous = w.cxm;
  w.cxm = { survey: survey, flush: flush };
  try {
    flush();
    if (previous && previous.q) for (var i = 0; i < previous.q.length; i++) survey(previous.q[i]);
    else if (attr("data-survey") && attr("data-auto") !== "false") survey({});
  } catch (e) { /* never into the host page */ }
})(window, document);
