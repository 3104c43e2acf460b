/* orgbook web page: progressive enhancement only. Every page works without this file.
   - search box: suggestions as you type (ARIA 1.2 combobox + listbox; arrows, Enter, Escape)
   - organisation page: "Verify" checks a credential with POST /api/v1/verify, in place
   - verify page: pasted text or an uploaded file (a presentation: with the challenge and
     domain fields) is verified without leaving the page, each enclosed item's checks shown */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";
  var messages = {};
  try {
    messages = JSON.parse(document.getElementById("orgbook-i18n").textContent) || {};
  } catch (e) { messages = {}; }

  function t(key, values) {
    var text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
    return text.replace(/\{([a-z_]+)\}/g, function (m, name) {
      return values && name in values ? String(values[name]) : m;
    });
  }
  function label(group, value) {
    var key = group + "." + value;
    return Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : value;
  }
  function number(n) {
    try { return new Intl.NumberFormat(lang === "fr" ? "fr-CA" : "en-CA").format(n); }
    catch (e) { return String(n); }
  }
  function plural(key, count) {
    var one = lang === "fr" ? count <= 1 : count === 1;
    return t(key + (one ? ".one" : ".other"), { count: number(count) });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* --- search suggestions ------------------------------------------------------------------ */

  function Combobox(input) {
    var box = input.closest(".combo");
    var list = document.getElementById("q-suggestions");
    var live = document.getElementById("q-live");
    var url = box.getAttribute("data-suggest-url");
    var items = [];
    var active = -1;
    var timer = null;
    var controller = null;
    var lastQuery = null;

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    list.setAttribute("role", "listbox");

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function select(index) {
      var options = list.querySelectorAll("[role=option]");
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function go(index) {
      if (items[index]) { window.location.assign(items[index].url); }
    }
    function render(found) {
      items = found;
      list.textContent = "";
      found.forEach(function (s, i) {
        var option = el("li", { role: "option", id: "q-option-" + i, "aria-selected": "false", "data-url": s.url });
        option.appendChild(el("span", { "class": "sugg-name" }, s.name));
        option.appendChild(el("span", { "class": "sugg-meta" },
          s.registrationNumber + " · " + s.jurisdiction + " · " + s.statusLabel));
        if (s.matchedName) {
          option.appendChild(el("span", { "class": "sugg-matched" }, t("js.also_known_as") + " " + s.matchedName));
        }
        option.addEventListener("mousedown", function (event) { event.preventDefault(); go(i); });
        list.appendChild(option);
      });
      active = -1;
      if (found.length) { open(); } else { close(); }
      live.textContent = found.length ? plural("js.suggestions_count", found.length) : t("js.no_suggestions");
    }
    function fetchSuggestions() {
      var q = input.value.trim();
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (controller) { controller.abort(); }
      if (q.length < 2) { render([]); live.textContent = ""; return; }
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(q), { signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) { if (input.value.trim() === q) { render(body.suggestions || []); } })
        .catch(function () { /* aborted or offline: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 120);
    });
    input.addEventListener("keydown", function (event) {
      var count = items.length;
      if (event.key === "ArrowDown") {
        if (!count) { return; }
        event.preventDefault();
        open();
        select(active + 1 >= count ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        if (!count) { return; }
        event.preventDefault();
        open();
        select(active <= 0 ? count - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) { event.preventDefault(); go(active); }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
        else if (input.value) { event.preventDefault(); input.value = ""; lastQuery = null; render([]); live.textContent = ""; }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("focus", function () { if (items.length) { open(); } });
  }

  /* --- verification reports ----------------------------------------------------------------- */

  var reportCount = 0;

  function ledgerPosition(report) {
    var checks = report.checks || [];
    for (var i = 0; i < checks.length; i++) {
      var c = checks[i];
      if (c.name === "ledger_inclusion" && c.outcome === "pass" && c.details &&
          typeof c.details.index === "number" && typeof c.details.treeSize === "number") {
        return { index: c.details.index, size: c.details.treeSize };
      }
    }
    return null;
  }

  function renderReport(report, headingLevel) {
    var id = "report-heading-js-" + (++reportCount);
    var section = el("section", { "class": "report " + (report.valid ? "report-valid" : "report-invalid"), "aria-labelledby": id });
    var heading = el("h" + headingLevel, { id: id, "class": "report-verdict" });
    heading.appendChild(el("span", { "aria-hidden": "true" }, report.valid ? "✓" : "✕"));
    heading.appendChild(document.createTextNode(" " + t(report.valid ? "verify.valid" : "verify.invalid")));
    section.appendChild(heading);
    if (report.credentialId) {
      var subject = el("p", { "class": "report-subject" }, t("verify.credential_id") + " ");
      subject.appendChild(el("code", null, report.credentialId));
      section.appendChild(subject);
    }
    if (report.differsFromLogged && report.differsFromLogged.length) {
      section.appendChild(el("p", { "class": "notice notice-error report-differs" },
        t("verify.differs", { fields: report.differsFromLogged.join(", ") })));
    }
    var position = ledgerPosition(report);
    if (position) {
      section.appendChild(el("p", { "class": "report-position" },
        t("verify.position", { index: number(position.index), size: number(position.size) })));
    }
    var list = el("ol", { "class": "checks" });
    (report.checks || []).forEach(function (c) {
      var item = el("li", { "class": "check check-" + String(c.outcome).replace(/[^a-z0-9-]/g, "") });
      var outcome = el("span", { "class": "check-outcome" });
      outcome.appendChild(el("span", { "aria-hidden": "true" }, c.outcome === "pass" ? "✓" : c.outcome === "fail" ? "✕" : "–"));
      outcome.appendChild(document.createTextNode(" " + label("outcome", c.outcome)));
      item.appendChild(outcome);
      item.appendChild(el("span", { "class": "check-name" }, label("check", c.name)));
      var said = "check_reason." + c.name + "." + c.outcome;
      if (Object.prototype.hasOwnProperty.call(messages, said)) {
        item.appendChild(el("span", { "class": "check-reason" }, t(said)));
        if (c.reason) {
          var more = el("details", { "class": "check-more" });
          more.appendChild(el("summary", null, t(lang === "en" ? "verify.technical" : "verify.technical_en")));
          more.appendChild(el("span", { lang: lang === "en" ? null : "en" }, c.reason));
          item.appendChild(more);
        }
      } else {
        item.appendChild(el("span", { "class": "check-reason", lang: lang === "en" ? null : "en" }, c.reason));
      }
      list.appendChild(item);
    });
    section.appendChild(list);
    if (report.holder) {
      var holder = el("p", { "class": "report-holder" }, t("verify.holder") + " ");
      holder.appendChild(el("code", null, report.holder));
      section.appendChild(holder);
    }
    if (report.organisation) {
      var bound = el("p", { "class": "report-organisation" }, t("verify.organisation") + " ");
      bound.appendChild(el("a", { href: "/organisations/" + encodeURI(report.organisation) }, report.organisation));
      section.appendChild(bound);
    }
    if (report.items && report.items.length) {
      /* a presentation: each credential or bundle it holds, with its own checks */
      var itemsId = id + "-items";
      var items = el("section", { "class": "report-items", "aria-labelledby": itemsId });
      items.appendChild(el("h" + Math.min(headingLevel + 1, 6), { id: itemsId }, t("verify.items")));
      var itemList = el("ol", { "class": "report-item-list" });
      report.items.forEach(function (item, i) {
        var entry = el("li", { "class": "report-item" });
        entry.appendChild(el("p", { "class": "report-item-label" },
          t("verify.item", { number: number(i + 1), kind: label("verify.kind", item.kind) })));
        entry.appendChild(renderReport(item, Math.min(headingLevel + 2, 6)));
        itemList.appendChild(entry);
      });
      items.appendChild(itemList);
      section.appendChild(items);
    }
    return section;
  }

  function showError(target, message) {
    target.textContent = "";
    target.appendChild(el("p", { "class": "notice notice-error", role: "alert" }, message));
  }

  function postVerify(bodyText, query) {
    return fetch("/api/v1/verify" + (query || ""), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: bodyText
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { var err = new Error(body.detail || body.title || String(r.status)); err.problem = body; throw err; }
        return body;
      });
    });
  }

  function busy(button, on) {
    if (!button) { return; }
    if (on) { button.setAttribute("data-label", button.textContent); button.textContent = t("verify.running"); button.disabled = true; }
    else { button.textContent = button.getAttribute("data-label") || button.textContent; button.disabled = false; }
  }

  function enhanceCardVerify(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var target = form.closest(".card-details").querySelector(".inline-report");
      var button = form.querySelector("button");
      busy(button, true);
      fetch(form.getAttribute("data-credential-url"), { headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(postVerify)
        .then(function (report) { target.textContent = ""; target.appendChild(renderReport(report, 4)); })
        .catch(function (err) { showError(target, err.problem ? t("verify.error.unusable", { detail: err.message }) : t("verify.error.network")); })
        .then(function () { busy(button, false); });
    });
  }

  /* a presentation's challenge and domain, from the page's fields, as query parameters */
  function presentationQuery(form) {
    var params = [];
    ["challenge", "domain"].forEach(function (name) {
      var input = form.querySelector("input[name=" + name + "]");
      var value = input ? input.value.trim() : "";
      if (value) { params.push(name + "=" + encodeURIComponent(value)); }
    });
    return params.length ? "?" + params.join("&") : "";
  }

  function enhanceVerifyPage(form) {
    var target = document.getElementById("verify-result");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var fileInput = form.querySelector("input[type=file]");
      var file = fileInput && fileInput.files && fileInput.files[0];
      var textPromise = file ? file.text() : Promise.resolve(form.querySelector("textarea").value);
      busy(button, true);
      textPromise.then(function (text) {
        if (!text.trim()) { showError(target, t("verify.error.empty")); return null; }
        return postVerify(text, presentationQuery(form)).then(function (report) {
          target.textContent = "";
          target.appendChild(renderReport(report, 2));
          target.querySelector(".report").setAttribute("tabindex", "-1");
          target.querySelector(".report").focus();
        });
      }).catch(function (err) {
        showError(target, err.problem ? t("verify.error.unusable", { detail: err.message }) : t("verify.error.network"));
      }).then(function () { busy(button, false); });
    });
  }

  function init() {
    var q = document.getElementById("q");
    if (q && q.closest(".combo") && window.fetch) { Combobox(q); }
    if (!window.fetch) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("form.verify-form[data-credential-url]"), enhanceCardVerify);
    var page = document.querySelector("form.verify-page-form");
    if (page) { enhanceVerifyPage(page); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
